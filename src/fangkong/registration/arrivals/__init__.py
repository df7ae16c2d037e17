"""Arrival self-registration (来X人员信息填报): the public form, its receipt, the staff lists and the API."""

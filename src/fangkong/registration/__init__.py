"""Public registration (issue 6), one subpackage per subject, each with its models, service, pages and API:
`arrivals/` (arrival self-registration), `gatherings/` (gatherings and their attendees), `venues/` (venue
codes, public check-in and visits). Shared here: the public forms' checks (`inputs`), what registration
hands to other capabilities (`handover`), retention and the daily figures."""

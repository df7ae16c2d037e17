"""Public registration (issue 6): arrival self-registration and gatherings with their attendees
(this half); venues, venue codes and visits (the other half)."""

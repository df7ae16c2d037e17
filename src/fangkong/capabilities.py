"""The platform's capabilities, in order: the one list. Adding a capability is a folder and a line here."""

from __future__ import annotations

from fangkong.checkpoints.capability import CAPABILITY as CHECKPOINTS
from fangkong.command.capability import CAPABILITY as COMMAND
from fangkong.core.capability import Platform
from fangkong.core.web.capability import CAPABILITY as SHELL
from fangkong.deployments.capability import CAPABILITY as DEPLOYMENTS
from fangkong.leads.capability import CAPABILITY as LEADS
from fangkong.observation.capability import CAPABILITY as OBSERVATION
from fangkong.passes.capability import CAPABILITY as PASSES
from fangkong.people.capability import CAPABILITY as PEOPLE
from fangkong.registration.capability import CAPABILITY as REGISTRATION
from fangkong.tracing.capability import CAPABILITY as TRACING

CAPABILITIES = (PEOPLE, OBSERVATION, LEADS, CHECKPOINTS, PASSES, TRACING, REGISTRATION, DEPLOYMENTS, COMMAND, SHELL)


def platform() -> Platform:
    """Return the validated platform (raises CapabilityError on a bad declaration)."""
    return Platform(CAPABILITIES)

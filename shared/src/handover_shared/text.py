"""Text as the services take it in."""

from typing import Annotated

from pydantic import Field

# PostgreSQL text cannot hold NUL: input with one is refused where it arrives, as the schema
# says, rather than failing where it is stored.
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]

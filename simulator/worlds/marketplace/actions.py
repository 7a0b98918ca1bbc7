"""The marketplace's action models (Magentic's ``marketplace/actions/actions.py``).

Pure pydantic models, no world state: policies (scripted or LLM) import them to
build decisions without importing the world. A decision is a ``CustomerAction``
or a ``BusinessAction`` whose ``action`` is one of the kinds below; messages
are ``text``, ``order_proposal`` (businesses) or ``payment`` (customers).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


_STRICT = ConfigDict(extra="forbid")


class TextMessage(BaseModel):
    """A free-text message."""

    model_config = _STRICT
    kind: Literal["text"] = "text"
    text: str = Field(max_length=10_000)


class OrderItem(BaseModel):
    model_config = _STRICT
    name: str = Field(description="menu item name")
    quantity: int = Field(1, ge=1)
    unit_price: float = Field(ge=0)


class OrderProposal(BaseModel):
    """An offer to sell: items, unit prices, total; it expires ``expires_in`` after it is sent."""

    model_config = _STRICT
    kind: Literal["order_proposal"] = "order_proposal"
    items: list[OrderItem] = Field(min_length=1)
    total: float = Field(ge=0, description="sum of quantity x unit price")
    expires_in: float | None = Field(None, gt=0, description="simulated time until the offer lapses (None: never)")
    text: str = Field("", max_length=10_000)


class Payment(BaseModel):
    """Accept and pay a proposal you received."""

    model_config = _STRICT
    kind: Literal["payment"] = "payment"
    proposal_id: str
    text: str = Field("", max_length=10_000)


Message = Annotated[Union[TextMessage, OrderProposal, Payment], Field(discriminator="kind")]


class Search(BaseModel):
    """Search businesses; results arrive after the search latency."""

    model_config = _STRICT
    kind: Literal["search"] = "search"
    query: str = Field(max_length=2_000)
    page: int = Field(1, ge=1)
    amenities: list[str] = Field(default_factory=list, description="required amenities (used by the 'filtered' mechanism)")


class SendMessage(BaseModel):
    """Send a message to another agent (delivered after ``delay`` + message latency)."""

    model_config = _STRICT
    kind: Literal["send_message"] = "send_message"
    to: str
    message: Message
    delay: float = Field(0.0, ge=0, le=1e6, description="think time before the message leaves")


class FetchMessages(BaseModel):
    """Move the mailbox into the next observation's ``messages``."""

    model_config = _STRICT
    kind: Literal["fetch_messages"] = "fetch_messages"


class Wait(BaseModel):
    """Sleep until a new message arrives or ``timeout`` passes (None: no timeout)."""

    model_config = _STRICT
    kind: Literal["wait"] = "wait"
    timeout: float | None = Field(None, gt=0)


class Finish(BaseModel):
    """Stop shopping (customers)."""

    model_config = _STRICT
    kind: Literal["finish"] = "finish"


class CustomerAction(BaseModel):
    """One assistant (customer) decision."""

    model_config = _STRICT
    action: Annotated[Union[Search, SendMessage, FetchMessages, Wait, Finish], Field(discriminator="kind")]


class BusinessAction(BaseModel):
    """One service (business) decision."""

    model_config = _STRICT
    action: Annotated[Union[SendMessage, FetchMessages, Wait], Field(discriminator="kind")]

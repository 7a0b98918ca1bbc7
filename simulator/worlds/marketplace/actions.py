"""The marketplace's action models (Magentic's ``marketplace/actions/actions.py``).

Pure pydantic models, no world state: policies (scripted or LLM) import them to
build decisions without importing the world.

A decision is a list of ``actions`` (the "several" shape of the action-model
contract): any number of ``send_message`` actions (Magentic's customer sends
several messages per step) and at most ONE other action (``search``,
``fetch_messages``, ``wait``, ``finish``); the world sends the messages in
order, then does the other action, which decides when the agent acts again.
Messages are role-specific: a customer sends ``text`` or ``payment``, a
business ``text`` or ``order_proposal``. The world asks for the customer model
of the moment (issue 16: a prompt offers only what can be done now):
``CustomerInquiry`` while it holds no payable proposal (no ``payment`` kind),
``CustomerPaymentAction`` while it holds one; under the search mechanisms that
read a search's constraints (``filtered``, ``lexical_filtered``)
``FilteredCustomerInquiry`` and ``CustomerAction`` instead, whose ``Search``
adds the filters (``amenities``, ``rating_threshold``, ``menu_items``) that
``QuerySearch`` (``query``, ``page``) leaves out, so no ignored field is offered. ``CustomerAction``, every kind and
field, subclasses all four, so a scripted policy's decision passes wherever any
of them is asked for; the world still checks every payment.

``CustomerAction(action=X)`` and ``{"action": {...}}`` are still accepted (one
action), and ``.action`` is the first action, so one-action policies keep working.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator


_STRICT = ConfigDict(extra="forbid")


class TextMessage(BaseModel):
    """Free text."""

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
CustomerMessage = Annotated[Union[TextMessage, Payment], Field(discriminator="kind")]
InquiryMessage = TextMessage
BusinessMessage = Annotated[Union[TextMessage, OrderProposal], Field(discriminator="kind")]


class QuerySearch(BaseModel):
    """Search businesses."""

    model_config = _STRICT
    kind: Literal["search"] = "search"
    query: str = Field(max_length=2_000)
    page: int = Field(1, ge=1)


class Search(QuerySearch):
    """Search businesses (results after the search latency); the filters are read by the filtered mechanisms."""

    amenities: list[str] = Field(default_factory=list, description="required amenities (a filter)")
    rating_threshold: float | None = Field(None, ge=0, description="lowest rating (a filter)")
    menu_items: list[str] = Field(default_factory=list, description="items every hit's menu must hold (a filter)")

    @model_serializer(mode="wrap")
    def _without_unused_constraints(self, handler):
        # A search without these constraints is logged as before they existed (same event logs, same fingerprints).
        data = handler(self)
        if isinstance(data, dict):
            if data.get("rating_threshold") is None:
                data.pop("rating_threshold", None)
            if not data.get("menu_items"):
                data.pop("menu_items", None)
        return data


class SendMessage(BaseModel):
    """Send a message to another agent (delivered after ``delay`` + message latency)."""

    model_config = _STRICT
    kind: Literal["send_message"] = "send_message"
    to: str
    message: Message
    delay: float = Field(0.0, ge=0, le=1e6, description="think time before sending")


class FetchMessages(BaseModel):
    """Read new messages."""

    model_config = _STRICT
    kind: Literal["fetch_messages"] = "fetch_messages"


class Wait(BaseModel):
    """Sleep until a message arrives or ``timeout`` passes (none: no timeout)."""

    model_config = _STRICT
    kind: Literal["wait"] = "wait"
    timeout: float | None = Field(None, gt=0)


class Finish(BaseModel):
    """Stop shopping."""

    model_config = _STRICT
    kind: Literal["finish"] = "finish"


class CustomerSendMessage(SendMessage):
    """Send a customer's message: ``text``, or ``payment`` of a proposal you hold."""

    message: CustomerMessage


class CustomerInquiryMessage(SendMessage):
    """Send a text message (nothing to pay yet)."""

    message: InquiryMessage


class BusinessSendMessage(SendMessage):
    """Send a business's message: ``text`` or an ``order_proposal``."""

    message: BusinessMessage


MAX_ACTIONS = 10   # actions in one decision: messages, plus at most one other action (the world rejects the rest:
# the rule is a protocol rule, not a type, so a schema-valid decision always validates)


class _Decision(BaseModel):
    """A list of actions; ``{"action": X}`` is read as ``{"actions": [X]}``; ``.action`` is the first."""

    model_config = _STRICT

    @model_validator(mode="before")
    @classmethod
    def _one_action(cls, data):
        if type(data) is dict and "action" in data:
            if data["action"] is None:   # "action": None is no action (as the constructor's default always was)
                data = {k: v for k, v in data.items() if k != "action"}
            elif "actions" not in data:
                data = {**data, "actions": [data["action"]]}
                del data["action"]
        return data

    @property
    def action(self):
        """The first action (one-action policies' view)."""
        return self.actions[0]


class CustomerInquiry(_Decision):
    """A customer's (assistant's) decision while it holds no payable proposal: messages are text only."""

    actions: list[Annotated[Union[QuerySearch, CustomerInquiryMessage, FetchMessages, Wait, Finish], Field(discriminator="kind")]] = Field(
        min_length=1, max_length=MAX_ACTIONS, description="send_message actions, then at most one other action")


class CustomerPaymentAction(CustomerInquiry):
    """A customer's (assistant's) decision: search, messages (text or payment), fetch, wait or finish."""

    actions: list[Annotated[Union[QuerySearch, CustomerSendMessage, FetchMessages, Wait, Finish], Field(discriminator="kind")]] = Field(
        min_length=1, max_length=MAX_ACTIONS, description="send_message actions, then at most one other action")


class FilteredCustomerInquiry(CustomerInquiry):
    """A customer's (assistant's) decision while it holds no payable proposal: messages are text only."""

    actions: list[Annotated[Union[Search, CustomerInquiryMessage, FetchMessages, Wait, Finish], Field(discriminator="kind")]] = Field(
        min_length=1, max_length=MAX_ACTIONS, description="send_message actions, then at most one other action")


class CustomerAction(FilteredCustomerInquiry, CustomerPaymentAction):
    """A customer's (assistant's) decision: search, messages (text or payment), fetch, wait or finish."""

    actions: list[Annotated[Union[Search, CustomerSendMessage, FetchMessages, Wait, Finish], Field(discriminator="kind")]] = Field(
        min_length=1, max_length=MAX_ACTIONS, description="send_message actions, then at most one other action")


class BusinessAction(_Decision):
    """A service's (business's) decision: messages (text or order proposal), fetch or wait."""

    actions: list[Annotated[Union[BusinessSendMessage, FetchMessages, Wait], Field(discriminator="kind")]] = Field(
        min_length=1, max_length=MAX_ACTIONS, description="send_message actions, then at most one other action")

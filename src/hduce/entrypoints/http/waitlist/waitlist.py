"""``/api/v1/waitlist``: a patient joins and leaves doctors' waitlists, and answers the
offers of freed slots (accept books the slot; decline passes it to the next patient).
Only patients keep a waitlist: others are answered 403."""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hduce.application.waitlist.entries import (
    JoinWaitlist,
    JoinWaitlistCommand,
    LeaveWaitlist,
    ListMyWaitlist,
)
from hduce.application.waitlist.offers import AcceptOffer, DeclineOffer
from hduce.domain.identity import Actor
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_auth
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    invalid_input_example,
    not_found_example,
    problem_example,
    problem_spec,
)
from hduce.entrypoints.http.waitlist.schemas import (
    ENTRY_ID,
    OFFER_ID,
    JoinWaitlistRequest,
    WaitlistEntryList,
    WaitlistEntryView,
    WaitlistOfferList,
    WaitlistOfferView,
)

_401 = {401: problem_spec(401, "Not authenticated")}
_403 = {
    403: problem_spec(
        403,
        "Not a patient",
        problem_example(403, "forbidden", "only patients keep a waitlist"),
    )
}
_404_ENTRY = {
    404: problem_spec(
        404,
        "No such waitlist entry of yours",
        not_found_example("waitlist entry", ENTRY_ID),
    )
}
_404_OFFER = {
    404: problem_spec(404, "No such offer of yours", not_found_example("waitlist offer", OFFER_ID))
}
_422_OFFER = {
    422: problem_spec(
        422,
        "The offer is no longer open (answered, expired)",
        problem_example(422, "business-rule", "this offer has expired"),
    )
}


class WaitlistController(Controller):
    path = "/waitlist"
    tags = ("waitlist",)
    guards = (requires_auth,)
    dependencies = AUTH_DEPENDENCIES

    @post(
        "/",
        status_code=201,
        summary="Join a doctor's waitlist for a time window",
        responses={
            400: problem_spec(
                400,
                "Malformed body, or a window that ends before it starts",
                invalid_input_example("ends_at", "a time slot must end after it starts"),
            ),
            **_401,
            **_403,
            404: problem_spec(
                404,
                "No such doctor, or no such visit type of that doctor",
                not_found_example("doctor", demo.DOCTOR_ID),
                problem_example(
                    404,
                    "not-found",
                    f"visit type {demo.VISIT_TYPE_ID} not found",
                    entity="visit type",
                    summary="visit-type",
                ),
            ),
        },
    )
    async def join(
        self,
        data: JSONBody[JoinWaitlistRequest],
        actor: NamedDependency[Actor],
        join: FromDishka[JoinWaitlist],
    ) -> WaitlistEntryView:
        entry = await join(
            JoinWaitlistCommand(
                actor=actor,
                doctor_id=data.doctor_id,
                earliest=data.earliest,
                latest=data.latest,
                visit_type=data.visit_type,
                visit_type_id=data.visit_type_id,
            )
        )
        return WaitlistEntryView.of(entry)

    @get(
        "/",
        summary="My waitlist entries (those still waiting), oldest first",
        responses={**_401, **_403},
    )
    async def list_entries(
        self, actor: NamedDependency[Actor], mine: FromDishka[ListMyWaitlist]
    ) -> WaitlistEntryList:
        return WaitlistEntryList([WaitlistEntryView.of(e) for e in await mine.entries(actor)])

    @delete(
        "/{entry_id:uuid}",
        status_code=204,
        summary="Leave a waitlist",
        responses={**MALFORMED_REQUEST, **_401, **_403, **_404_ENTRY, **_422_OFFER},
    )
    async def leave(
        self,
        entry_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        leave: FromDishka[LeaveWaitlist],
    ) -> None:
        await leave(actor, entry_id)

    @get("/offers", summary="My offers of freed slots, newest first", responses={**_401, **_403})
    async def list_offers(
        self, actor: NamedDependency[Actor], mine: FromDishka[ListMyWaitlist]
    ) -> WaitlistOfferList:
        return WaitlistOfferList([WaitlistOfferView.of(o) for o in await mine.offers(actor)])

    @post(
        "/offers/{offer_id:uuid}/accept",
        status_code=200,
        summary="Accept an offer: book its slot",
        description=(
            "Books the slot as any booking of yours would (the same rules). If the slot "
            "was taken meanwhile the answer is 409 and the offer passes to the next "
            "patient waiting for it."
        ),
        responses={
            **MALFORMED_REQUEST,
            **_401,
            **_403,
            **_404_OFFER,
            409: problem_spec(
                409,
                "The slot was taken meanwhile (`slot-conflict`)",
                problem_example(409, "slot-conflict", "the requested time is taken"),
            ),
            **_422_OFFER,
        },
    )
    async def accept(
        self,
        offer_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        accept: FromDishka[AcceptOffer],
    ) -> WaitlistOfferView:
        offer, _ = await accept(actor, offer_id)
        return WaitlistOfferView.of(offer)

    @post(
        "/offers/{offer_id:uuid}/decline",
        status_code=200,
        summary="Decline an offer: it passes to the next patient waiting",
        responses={**MALFORMED_REQUEST, **_401, **_403, **_404_OFFER, **_422_OFFER},
    )
    async def decline(
        self,
        offer_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        decline: FromDishka[DeclineOffer],
    ) -> WaitlistOfferView:
        return WaitlistOfferView.of(await decline(actor, offer_id))

"""The waitlist feature (``hduce.application.waitlist``): entries, the freed-slot
handler, accepting and declining offers, and the expiry sweep."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.waitlist.entries import JoinWaitlist, LeaveWaitlist, ListMyWaitlist
from hduce.application.waitlist.offers import (
    AcceptOffer,
    DeclineOffer,
    ExpireWaitlistOffers,
    OfferFreedSlot,
    WaitlistPolicy,
)
from hduce.bootstrap.settings import Settings


class WaitlistProvider(Provider):
    scope = Scope.APP

    join = provide(JoinWaitlist)
    leave = provide(LeaveWaitlist)
    list_mine = provide(ListMyWaitlist)
    offer_freed_slot = provide(OfferFreedSlot)
    accept = provide(AcceptOffer)
    decline = provide(DeclineOffer)
    expire = provide(ExpireWaitlistOffers)

    @provide
    def policy(self, settings: Settings) -> WaitlistPolicy:
        return WaitlistPolicy(offer_ttl=settings.waitlist.offer_ttl)

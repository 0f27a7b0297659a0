"""The demo values every OpenAPI example is made of, so the documented operations
tell one consistent story.

Ana García (a patient) books Dr. Lucía Romero (Family medicine, Europe/Madrid) for
Tuesday 8 January 2030 at 09:00 Madrid time (``2030-01-08T09:00:00+01:00``, stored
and answered in UTC as ``2030-01-08T08:00:00Z``); the doctor approves it.

Documentation only: the OpenAPI document is the one reader of these values, so they
can change without changing behaviour. ``ex(...)`` puts examples on a struct field
without adding any constraint::

    doctor_id: Annotated[UUID, ex(DOCTOR_ID)]
"""

from __future__ import annotations

from typing import Any, Final

from msgspec import Meta


def ex(*examples: Any) -> Meta:
    """``Meta`` carrying only OpenAPI examples (the first is the one renderers show)."""
    return Meta(examples=list(examples))


# ------------------------------------------------------------------ people and ids
# UUIDv7, as the server makes them: the first 48 bits are the creation time, so each id
# below fits the moment of the story it was made at.

DOCTOR_ID: Final = "01b7b238-5840-7a4b-9d21-5e7f0a1b2c3d"
DOCTOR_NAME: Final = "Dr. Lucía Romero"
DOCTOR_EMAIL: Final = "lucia.romero@example.org"
DOCTOR_PHONE: Final = "+34910000101"
DOCTOR_LICENCE: Final = "MAD-28-1001"
DOCTOR_BIO: Final = (
    "Family doctor for fifteen years; sees adults and children. Speaks Spanish and English."
)

#: A second doctor, for lists and statistics.
OTHER_DOCTOR_ID: Final = "01b7b23e-c0e0-7b91-8c4d-2a6e9f1b3d58"
OTHER_DOCTOR_NAME: Final = "Dr. Hugo Martín"
OTHER_SPECIALTY_ID: Final = "01b702b4-1801-7c27-a9d3-4b8e0c2f6a19"
OTHER_SPECIALTY_NAME: Final = "Cardiology"

PATIENT_ID: Final = "01b7b245-d948-7e52-a8c3-6f9d2b4e7a10"
PATIENT_NAME: Final = "Ana García"
PATIENT_EMAIL: Final = "ana.garcia@example.org"
PATIENT_PHONE: Final = "+34600111001"
PATIENT_BIRTH_DATE: Final = "1985-04-12"
EMERGENCY_CONTACT_NAME: Final = "Luis García"
EMERGENCY_CONTACT_PHONE: Final = "+34600111002"

SPECIALTY_ID: Final = "01b702b4-1800-7b18-b6e0-1c4f8a2d9e55"
SPECIALTY_NAME: Final = "Family medicine"
SPECIALTY_DESCRIPTION: Final = "General practice for all ages."

APPOINTMENT_ID: Final = "01b8e3b6-9138-7d36-8e2f-0a5b7c9d1e42"
NOTIFICATION_ID: Final = "01b8e6d8-0f7a-7c95-a1d8-7f3e5b2c9d60"
EVENT_ID: Final = "01b8e6d8-0518-7e03-8c6a-9d2f4e1b7a35"
AUDIT_ENTRY_ID: Final = "01b8e6d8-0519-7a4c-b5e7-3f8a1c6d2e94"
TIME_OFF_ID: Final = "01b86c0c-fa00-7b2e-9f05-4c1a7e3d8b26"
VISIT_TYPE_ID: Final = "01b86c0c-fa10-7c3f-8a16-5d2b8f4e9c37"
EXTRA_HOURS_ID: Final = "01b87133-5600-7d40-a6c2-8e5b3f9a0d17"
#: Where Dr. Romero sees Ana García (ADR 0025).
INSTITUTION_ID: Final = "01b702b4-1810-7a55-9e3c-2d7b1f8a4c60"
INSTITUTION_NAME: Final = "Hospital Universitario Norte"
#: The ``X-Request-ID`` a problem quotes (the server's own are 32 hex digits).
DEVICE_ID: Final = "01b8e6d8-0520-7b3d-9c41-6a2e8f0d4b17"
DEVICE_NAME: Final = "Front door kiosk"
DEVICE_LOCATION: Final = "Main building, ground floor, reception"
DEVICE_SECRET: Final = "b1Zq8dX3rT0mVw6yLk2NpQe9sHc5JfAa7Ug4Rt1Yo0E"  # noqa: S105 (an example)
CHECK_IN_CODE: Final = "K7MQ4XPA"
REQUEST_ID: Final = "6f1c2a9e8b7d4c3fa2e5d8b1c0f9e7a3"

TIMEZONE: Final = "Europe/Madrid"

# ------------------------------------------------------------------ times

ACCOUNT_CREATED_AT: Final = "2029-11-04T10:12:45Z"
#: When Ana asked for the visit, and when Dr. Romero approved it.
BOOKED_AT: Final = "2030-01-02T17:40:03Z"
APPROVED_AT: Final = "2030-01-03T08:15:27Z"
#: The visit, as sent (with the doctor's offset) and as answered (UTC).
STARTS_AT_LOCAL: Final = "2030-01-08T09:00:00+01:00"
ENDS_AT_LOCAL: Final = "2030-01-08T09:30:00+01:00"
STARTS_AT_UTC: Final = "2030-01-08T08:00:00Z"
ENDS_AT_UTC: Final = "2030-01-08T08:30:00Z"
#: Where a rescheduling moves it.
NEW_STARTS_AT_LOCAL: Final = "2030-01-10T11:00:00+01:00"
NEW_ENDS_AT_LOCAL: Final = "2030-01-10T11:30:00+01:00"

# ------------------------------------------------------------------ texts

VISIT_REASON: Final = "Persistent cough for two weeks"
#: The in-app notification Ana gets when the visit is approved.
APPROVED_MESSAGE: Final = (
    "Your appointment with Dr. Lucía Romero on Tue 08 Jan 2030 at 09:00 (Europe/Madrid) "
    "is confirmed."
)
NOTIFICATION_METADATA: Final = {
    "event_id": EVENT_ID,
    "appointment_id": APPOINTMENT_ID,
    "template": "approved",
}
#: The ``data:`` of the ``notification`` event announcing it on the live stream.
STREAM_NOTIFICATION_DATA: Final = (
    f'{{"id":"{NOTIFICATION_ID}","type":"appointment.approved","title":"Appointment approved",'
    f'"message":"{APPROVED_MESSAGE}","created_at":"2030-01-03T08:15:27+00:00",'
    f'"metadata":{{"event_id":"{EVENT_ID}","appointment_id":"{APPOINTMENT_ID}",'
    '"template":"approved"}}'
)
#: A refresh token: opaque, 43 URL-safe characters, single use.
REFRESH_OPAQUE: Final = "q3XKf9vLm2ZtR8wYb1NcH5sJd7GpE4uA0iOyTnVxWk6"
#: An access token as ``/auth/login`` answers it: Ana's, for 15 minutes (``at+jwt``,
#: claims iss, aud, sub, role, iat, exp, jti and sid; the signature is made up).
ACCESS_JWT: Final = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9."
    "eyJpc3MiOiJoZHVjZSIsImF1ZCI6ImhkdWNlLWFwaSIsInN1YiI6IjAxYjdiMjQ1LWQ5NDgtN2U1Mi1hOGMzLTZm"
    "OWQyYjRlN2ExMCIsInJvbGUiOiJwYXRpZW50IiwiaWF0IjoxODkzNjA1NzAwLCJleHAiOjE4OTM2MDY2MDAsImp0"
    "aSI6IjAxYjhlM2IxLWYyYzAtN2E2MS05ZTNkLTViOGMyZjRhMWQwNyIsInNpZCI6IjAxYjhlM2IxLWYyYmYtN2Mz"
    "YS04ZDUyLTFlOWY2YjBhNGM4MyJ9."
    "3hQZp1dV9nU5r8mJ2cX6tK0yW4bF7gL1sA9eH3oN5qE"
)

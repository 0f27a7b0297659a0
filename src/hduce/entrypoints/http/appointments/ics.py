"""An appointment as an iCalendar (RFC 5545) document, for calendar apps.

One VEVENT per appointment. Its UID never changes and SEQUENCE is the appointment's
version, so a calendar that imported an earlier copy replaces it with the newer
one; a cancelled (rejected, voided) visit comes with ``METHOD:CANCEL`` and
``STATUS:CANCELLED`` so the calendar drops or strikes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hduce.application.appointments.parties import AppointmentWithParties, Party
from hduce.domain.appointments import Appointment, AppointmentStatus

if TYPE_CHECKING:
    from icalendar import vCalAddress

ICS_MEDIA_TYPE = "text/calendar"
PRODUCT_ID = "-//HDUCE//Appointments 1.0//EN"

_S = AppointmentStatus
_EVENT_STATUS = {
    _S.PENDING: "TENTATIVE",
    _S.PROPOSED: "TENTATIVE",  # until the patient accepts it
    _S.APPROVED: "CONFIRMED",
    _S.CHECKED_IN: "CONFIRMED",
    _S.COMPLETED: "CONFIRMED",
    _S.NO_SHOW: "CONFIRMED",  # it was on the calendar; the patient did not come
    _S.REJECTED: "CANCELLED",
    _S.CANCELLED: "CANCELLED",
    _S.ENTERED_IN_ERROR: "CANCELLED",
}
# How the patient's participation reads to calendar apps.
_PARTICIPATION = {"TENTATIVE": "NEEDS-ACTION", "CONFIRMED": "ACCEPTED", "CANCELLED": "DECLINED"}


def event_uid(appointment: Appointment) -> str:
    return f"{appointment.id}@hduce"


def event_status(status: AppointmentStatus) -> str:
    return _EVENT_STATUS[status]


def appointment_ics(entry: AppointmentWithParties) -> bytes:
    # Imported on first use: icalendar (~80 modules) stays out of the API's resident set
    # until someone downloads a calendar file.
    from icalendar import Calendar, Event, vBinary

    appointment = entry.appointment
    status = event_status(appointment.status)
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if status == "CANCELLED" else "REQUEST")

    event = Event()
    event.add("uid", event_uid(appointment))
    event.add("sequence", appointment.version)
    event.add("dtstamp", appointment.updated_at)
    event.add("created", appointment.created_at)
    event.add("last-modified", appointment.updated_at)
    event.add("dtstart", appointment.starts_at)  # UTC instants: written with a trailing Z
    event.add("dtend", appointment.ends_at)
    event.add("status", status)
    event.add("summary", _summary(entry))
    event.add("description", _description(appointment))
    code = _check_in_code(appointment)
    if code is not None:
        # The QR code of the check-in code, inline (RFC 5545 ATTACH, base64 PNG):
        # calendar apps that show attachments show it; the text is in DESCRIPTION.
        event.add("attach", vBinary(check_in_qr_png(code)), parameters={"FMTTYPE": "image/png"})
    if entry.doctor is not None:
        event.add("organizer", _address(entry.doctor, role="CHAIR"))
    if entry.patient is not None:
        attendee = _address(entry.patient, role="REQ-PARTICIPANT")
        attendee.params["PARTSTAT"] = _PARTICIPATION[status]
        event.add("attendee", attendee)
    calendar.add_component(event)
    result: bytes = calendar.to_ical()
    return result


def _summary(entry: AppointmentWithParties) -> str:
    doctor = entry.doctor.full_name if entry.doctor else "the doctor"
    patient = entry.patient.full_name if entry.patient else "a patient"
    return f"Medical appointment: {patient} with {doctor}"


def _description(appointment: Appointment) -> str:
    # Calendar files end up synced to third-party calendars: the doctor's clinical
    # notes stay out; the patient's own reason for the visit is kept.
    lines = [f"Status: {appointment.status.value.replace('_', ' ')}"]
    if appointment.reason:
        lines.append(f"Reason: {appointment.reason}")
    if appointment.cancellation_reason:
        lines.append(f"Cancelled: {appointment.cancellation_reason}")
    if appointment.rejection_reason:
        lines.append(f"Rejected: {appointment.rejection_reason}")
    code = _check_in_code(appointment)
    if code is not None:
        lines.append(f"Check-in code: {code} (type it, or show its QR code, at the kiosk)")
    return "\n".join(lines)


#: Where a check-in code is still of use: the visit has not happened yet.
_CHECK_IN_STATUSES = frozenset({_S.PENDING, _S.PROPOSED, _S.APPROVED})


def _check_in_code(appointment: Appointment) -> str | None:
    if appointment.status not in _CHECK_IN_STATUSES:
        return None
    return appointment.check_in_code


def check_in_qr_png(code: str) -> bytes:
    """The QR code of ``code`` as a PNG (segno: pure Python, no imaging library)."""
    import io

    import segno

    buffer = io.BytesIO()
    # Error correction M survives a worn printout; scale 4 is ~100 px, readable.
    segno.make_qr(code, error="m").save(buffer, kind="png", scale=4, border=2)
    return buffer.getvalue()


def _address(party: Party, *, role: str) -> vCalAddress:
    from icalendar import vCalAddress, vText

    address = vCalAddress(f"mailto:{party.email}")
    address.params["CN"] = vText(party.full_name)
    address.params["ROLE"] = role
    return address

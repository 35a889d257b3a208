"""Demo data for development: Danish and English activities, several organizers, internal and external
participants and a room. Loaded once; running it again keeps what is there."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, select

from . import db, store
from .domain.activity import Activity, participant
from .models import ActivityRow, OrgDomainRow

ORG_DOMAIN = "contoso.com"
ORGANIZERS = ("anna.berg@contoso.com", "lars.holm@contoso.com", "maria.jensen@contoso.com")
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _at(day_offset: int, hour: int, minute: int = 0, base: datetime | None = None) -> datetime:
    today = (base or datetime.now(UTC)).astimezone(COPENHAGEN).date()
    return datetime.combine(today + timedelta(days=day_offset), time(hour, minute), COPENHAGEN)


def demo_activities(base: datetime | None = None) -> list[Activity]:
    anna, lars, maria = ORGANIZERS
    room = participant("moedelokale.havnen@contoso.com", "Mødelokale Havnen", "resource")

    def act(organizer, subject, day, hour, minutes, people, location, notes, agenda, **extra):
        start = _at(day, hour, base=base)
        return Activity(subject=subject, start=start, end=start + timedelta(minutes=minutes),
                        time_zone="Europe/Copenhagen", organizer_email=organizer,
                        participants=tuple(people), location=location, internal_notes=notes,
                        external_agenda=agenda, **extra)

    return [
        act(anna, "Kvartalsmøde med Fabrikam", 1, 10, 60, [
            participant("lars.holm@contoso.com", "Lars Holm"),
            participant("mette.kunde@fabrikam.com", "Mette Kunde"),
            participant('"Jonas Fabrikam" <jonas@fabrikam.com>'),
            room,
        ], "Mødelokale Havnen", "Intern note: rabatten kan gå til 12 %, ikke mere.",
            "1. Status på leverancer\n2. Planen for næste kvartal"),
        act(anna, "Renewal review with Northwind", 2, 14, 45, [
            participant("maria.jensen@contoso.com", "Maria Jensen"),
            participant("olivia.chen@northwind.example", "Olivia Chen"),
            participant("procurement+renewals@northwind.example", "Northwind Procurement", "optional"),
        ], "Teams", "Internal: Northwind is evaluating a competitor; do not mention the price increase yet.",
            "Agenda: usage review, renewal terms, questions."),
        act(anna, "Intern forberedelse", 1, 9, 30, [participant("lars.holm@contoso.com", "Lars Holm")],
            "Kontoret", "Forbered kvartalsmødet.", ""),
        act(lars, "Workshop hos Tailspin Toys", 3, 9, 180, [
            participant("anna.berg@contoso.com", "Anna Berg"),
            participant("kim@tailspintoys.example", "Kim Tailspin"),
            participant("sales.contoso.com@tailspintoys.example", "Look-alike address"),
        ], "Tailspin Toys, Aarhus", "Kim is the decision maker; budget approved in November.",
            "Workshop: requirements and timeline."),
        act(maria, "Onboarding: Wingtip", 4, 13, 60, [
            participant("ole@wingtip.example", "Ole Wingtip"),
            participant("it@dk.contoso.com", "Contoso IT (subdomain)"),
        ], "Online", "Wingtip had problems with the last supplier.", "Onboarding plan and contacts."),
        act(anna, "Strategidag (hele dagen)", 7, 0, 24 * 60, [
            participant("lars.holm@contoso.com", "Lars Holm"),
            participant("partner@adatum.example", "Adatum Partner"),
        ], "Hotel Nyborg Strand", "Intern: vi overvejer at skifte partner.", "Strategidag med Adatum.",
            is_all_day=True),
    ]


def seed(app: Flask) -> int:
    with db.standalone_session(app) as session:
        if session.scalar(select(func.count()).select_from(ActivityRow)):
            return 0
        if session.get(OrgDomainRow, ORG_DOMAIN) is None:
            session.add(OrgDomainRow(domain=ORG_DOMAIN, source="demo"))
        for activity in demo_activities():
            row = ActivityRow()
            store.write_fields(row, activity)
            session.add(row)
        return len(demo_activities())

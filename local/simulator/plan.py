"""The plan of a simulated history: companies, their people and anonymous visitors, what each did over the
past days as Segment messages, and what sales decides about those who reach it. Pure: the same seed, size
and `now` give the same plan, message for message; nothing here talks to anything.

Each company has a hidden **propensity** (0..1: how likely it is to buy), drawn from its size and industry
with noise; each visitor's is its company's, give or take. It drives both the behaviour (how often they
come back, whether they read pricing, raise their hand, use the product) and the outcome (accepted,
opportunity, won or lost, the amount). It is never sent: tests and predictive scoring read it from here.
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

DEFAULT_SEED = 1
DEFAULT_VISITORS = 300
DEFAULT_DAYS = 90
SITE = "https://www.example.com"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)
_NAMESPACE = uuid.UUID("6c1f0b8e-93d4-4a57-8f7e-2b5d9c0e4a31")  # of the plan's ids (message ids, visitors)

# (industry, how much it likes what we sell): the account model's target industries and some it does not
INDUSTRIES = (
    ("Software", 0.25),
    ("SaaS", 0.25),
    ("Financial Services", 0.15),
    ("E-commerce", 0.15),
    ("Marketing", 0.1),
    ("Telecommunications", 0.05),
    ("Manufacturing", -0.05),
    ("Healthcare", -0.05),
    ("Logistics", -0.05),
    ("Education", -0.2),
)
# (label, employees low..high, share of companies, propensity bonus, deal size low..high in EUR)
SIZES = (
    ("micro", 2, 9, 0.15, -0.2, (1_200, 4_000)),
    ("small", 10, 49, 0.3, 0.0, (4_000, 12_000)),
    ("mid-market", 50, 5_000, 0.4, 0.15, (12_000, 60_000)),
    ("enterprise", 5_001, 80_000, 0.15, 0.05, (60_000, 240_000)),
)
COUNTRIES = ("DE", "NL", "FR", "GB", "US", "US", "CA", "ES", "SE", "PL")
_PREFIXES = (
    "North", "Bright", "Blue", "Silver", "Quantum", "Cedar", "Harbor", "Summit", "Vector", "Nimbus",
    "Atlas", "Orbit", "Lumen", "Pioneer", "Granite", "Maple", "Delta", "Copper", "Falcon", "Juniper",
)  # fmt: skip
_SUFFIXES = (
    "wind", "path", "stone", "field", "works", "loop", "grid", "forge", "labs", "bridge", "line", "scale",
)  # fmt: skip
_KINDS = ("Analytics", "Systems", "Retail", "Logistics", "Health", "Finance", "Media", "Software", "Labs")
FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Lars",
    "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wim", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Jansen", "Kowalski", "Lambert",
    "Moreau", "Novak", "Olsen", "Peters", "Rossi", "Schmidt", "Tanaka", "Visser", "Weber", "Young",
)  # fmt: skip
# (title, seniority, how much the title raises the chance to buy)
TITLES = (
    ("CEO", "executive", 0.1),
    ("CFO", "executive", 0.1),
    ("CTO", "executive", 0.1),
    ("VP Marketing", "vp", 0.1),
    ("VP Sales", "vp", 0.1),
    ("Head of Growth", "head", 0.08),
    ("Director of Engineering", "director", 0.05),
    ("Marketing Manager", "manager", 0.03),
    ("Sales Operations Manager", "manager", 0.03),
    ("Engineering Manager", "manager", 0.0),
    ("Senior Developer", "individual", -0.02),
    ("Marketing Specialist", "individual", -0.02),
    ("Data Analyst", "individual", -0.02),
    ("Student", "student", -0.3),
)
Channel = Literal[
    "paid search", "paid social", "organic search", "organic social", "email", "referral", "direct"
]
# (channel as the attribution names it, share of visitors, propensity bonus)
CHANNELS: tuple[tuple[Channel, float, float], ...] = (
    ("organic search", 0.26, 0.0),
    ("paid search", 0.18, 0.05),
    ("direct", 0.14, 0.05),
    ("email", 0.12, 0.05),
    ("referral", 0.12, 0.1),
    ("organic social", 0.1, -0.05),
    ("paid social", 0.08, -0.05),
)
CAMPAIGNS = {
    "paid search": ("brand", "lead-scoring", "competitor"),
    "paid social": ("linkedin-abm", "webinar-promo"),
    "email": ("newsletter", "nurture-trial", "webinar-invite"),
}
BLOG = (
    "/blog/what-is-lead-scoring", "/blog/speed-to-lead", "/blog/mql-vs-sql", "/blog/buying-committees",
    "/blog/serverless-analytics", "/blog/attribution-basics",
)  # fmt: skip
DOCS = ("/docs/getting-started", "/docs/tracking-api", "/docs/scoring-model", "/docs/webhooks")
PRODUCT_EVENTS = ("Project Created", "Teammate Invited", "Premium Feature Used")
LOST_REASONS = ("Chose a competitor", "No budget this year", "Went quiet", "Built it in-house")


@dataclass(frozen=True)
class Company:
    domain: str
    name: str
    industry: str
    employees: int
    size: str
    country: str
    propensity: float  # hidden: how likely it is to buy, 0..1
    deal_size: tuple[int, int]  # what a won deal is worth here, EUR


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    title: str
    seniority: str


@dataclass(frozen=True)
class SalesDecision:
    """What sales does once the visitor's lead reaches it: accept, or reject with a reason; then perhaps an
    opportunity, won or lost with an amount."""

    accept: bool
    reject_reason: str | None = None
    opportunity: bool = False
    outcome: Literal["won", "lost"] | None = None
    amount: int | None = None
    lost_reason: str | None = None

    @property
    def stage(self) -> str:
        """The stage the lead ends in when sales has done all of this."""
        if not self.accept:
            return "rejected"
        return self.outcome or ("opportunity" if self.opportunity else "accepted")


@dataclass(frozen=True)
class Visitor:
    key: str  # stable within the plan: v0001 ...
    anonymous_id: str
    company: Company
    person: Person | None  # None: stays anonymous
    channel: Channel  # of the first visit (what the attribution should say)
    campaign: str | None
    propensity: float  # hidden: 0..1
    hand_raiser: bool  # asked to talk to sales ("Contact Sales")
    product_user: bool  # signed up and used the product (PQL rules)
    first_seen: datetime
    messages: tuple[dict[str, Any], ...]  # Segment messages, oldest first, each with a timestamp
    sales: SalesDecision = field(default_factory=lambda: SalesDecision(accept=False))


@dataclass(frozen=True)
class Plan:
    seed: int
    now: datetime
    days: int
    companies: tuple[Company, ...]
    visitors: tuple[Visitor, ...]

    def messages(self) -> list[dict[str, Any]]:
        """Every visitor's messages, oldest first (the order the intake should see them in)."""
        return sorted(
            (m for v in self.visitors for m in v.messages), key=lambda m: (m["timestamp"], m["messageId"])
        )

    def batches(self, size: int) -> list[list[dict[str, Any]]]:
        """The messages in batches of about `size`, visitor after visitor (the first seen first), each
        visitor's in order and whole in one batch (a visitor with more than `size` messages is a batch of its
        own, well within the intake's 2,500): batches sent side by side never reorder one visitor's history,
        so scoring applies it in the order it happened."""
        batches: list[list[dict[str, Any]]] = [[]]
        for visitor in sorted(self.visitors, key=lambda v: v.first_seen):
            if len(batches[-1]) + len(visitor.messages) > size and batches[-1]:
                batches.append([])
            batches[-1].extend(visitor.messages)
        return [batch for batch in batches if batch]

    def known(self) -> list[Visitor]:
        return [v for v in self.visitors if v.person is not None]

    def by_name(self) -> dict[str, Visitor]:
        """Known visitors by their name (unique within a plan): how the lead lists name them."""
        return {v.person.name: v for v in self.visitors if v.person is not None}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([item for item, _ in weighted], [w for _, w in weighted])[0]


def _companies(rng: random.Random, count: int) -> list[Company]:
    found: dict[str, Company] = {}
    while len(found) < count:
        name = f"{rng.choice(_PREFIXES)}{rng.choice(_SUFFIXES)} {rng.choice(_KINDS)}"
        domain = name.split()[0].lower() + "-" + name.split()[1].lower() + ".com"
        if domain in found:
            continue
        label, low, high, _, size_bonus, deal = _pick(rng, tuple((s, s[3]) for s in SIZES))
        industry, industry_bonus = rng.choice(INDUSTRIES)
        propensity = _clamp(0.3 + size_bonus + industry_bonus + rng.gauss(0, 0.15))
        employees = round(low * (high / low) ** rng.random())
        found[domain] = Company(
            domain, name, industry, employees, label, rng.choice(COUNTRIES), propensity, deal
        )
    return list(found.values())


class _Builder:
    """The messages of one visitor, each with a message id derived from the seed and the visitor."""

    def __init__(self, seed: int, key: str, anonymous_id: str) -> None:
        self.seed, self.key, self.anonymous_id = seed, key, anonymous_id
        self.messages: list[dict[str, Any]] = []

    def add(self, kind: str, at: datetime, **fields: Any) -> None:
        message_id = str(uuid.uuid5(_NAMESPACE, f"{self.seed}/{self.key}/{len(self.messages)}"))
        context = {"userAgent": USER_AGENT, **fields.pop("context", {})}
        self.messages.append(
            {
                "type": kind,
                "anonymousId": self.anonymous_id,
                "messageId": message_id,
                "timestamp": _iso(at),
                "context": context,
                **fields,
            }
        )

    def page(
        self, at: datetime, path: str, title: str, url: str | None = None, referrer: str | None = None
    ) -> None:
        page: dict[str, str] = {"path": path, "url": url or f"{SITE}{path}", "title": title}
        if referrer:
            page["referrer"] = referrer
        self.add("page", at, name=title, context={"page": page}, properties=dict(page))


def _arrival(rng: random.Random, channel: Channel, campaign: str | None, path: str) -> tuple[str, str | None]:
    """The landing URL and referrer of a first visit through `channel` (as the attribution reads them)."""
    url = f"{SITE}{path}"
    if channel == "paid search":
        click = f"gclid=Cj0K{rng.randrange(10**8):08d}"
        return (
            f"{url}?utm_source=google&utm_medium=cpc&utm_campaign={campaign}&{click}",
            "https://www.google.com/",
        )
    if channel == "paid social":
        return (
            f"{url}?utm_source=linkedin&utm_medium=paid_social&utm_campaign={campaign}",
            "https://www.linkedin.com/",
        )
    if channel == "email":
        return f"{url}?utm_source=newsletter&utm_medium=email&utm_campaign={campaign}", None
    if channel == "organic search":
        return url, rng.choice(
            ("https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/")
        )
    if channel == "organic social":
        return url, rng.choice(
            ("https://www.linkedin.com/feed/", "https://t.co/x1", "https://www.reddit.com/r/sales/")
        )
    if channel == "referral":
        return url, rng.choice(
            ("https://www.g2.com/categories/lead-scoring", "https://partner-blog.example.org/tools")
        )
    return url, None


def _visitor(
    rng: random.Random, seed: int, index: int, company: Company, people: set[str], now: datetime, days: int
) -> Visitor:
    key = f"v{index:04d}"
    anonymous_id = str(uuid.uuid5(_NAMESPACE, f"{seed}/{key}/anonymous"))
    channel, _, channel_bonus = _pick(rng, tuple((c, c[1]) for c in CHANNELS))
    campaign = rng.choice(CAMPAIGNS[channel]) if channel in CAMPAIGNS else None
    title, seniority, title_bonus = rng.choice(TITLES)
    propensity = _clamp(company.propensity + channel_bonus + title_bonus + rng.gauss(0, 0.1))
    identifies = rng.random() < 0.35 + 0.55 * propensity
    person = None
    if identifies:
        while True:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            if name not in people:
                break
            name = f"{name[0]}. {rng.choice(LAST_NAMES)}-{rng.choice(LAST_NAMES)}"
            if name not in people:
                break
        people.add(name)
        local_part = name.lower().replace(". ", ".").replace(" ", ".")
        person = Person(name, f"{local_part}@{company.domain}", title, seniority)
    # the first visit: any time in the period, more of them recently (marketing grows). The timeline is
    # laid from the start of `now`'s day, so a second run the same day plans the same times for the same
    # messages (the intake keeps a messageId's first copy); only the cut below depends on the minute.
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = day - timedelta(days=days) + timedelta(days=days * rng.random() ** 0.7)
    start = min(start, now - timedelta(hours=2))
    builder = _Builder(seed, key, anonymous_id)
    landing = rng.choice((*BLOG, "/", "/", "/pricing" if propensity > 0.6 else "/"))
    url, referrer = _arrival(rng, channel, campaign, landing)
    at = start
    builder.page(at, landing, _title(landing), url, referrer)
    sessions = 1 + min(12, int(rng.expovariate(1 / (1 + 6 * propensity))))
    saw_pricing = False
    for session in range(sessions):
        if session:
            at += timedelta(hours=rng.uniform(6, 24 * 9 * (1.2 - propensity)))
            builder.page(at, "/", "Home")
        for _ in range(rng.randint(1, 4)):
            at += timedelta(seconds=rng.randint(20, 240))
            roll = rng.random()
            if roll < 0.35 * propensity + 0.05 and not (saw_pricing and rng.random() < 0.5):
                builder.page(at, "/pricing", "Pricing")
                saw_pricing = True
            elif roll < 0.55:
                path = rng.choice(BLOG)
                builder.page(at, path, _title(path))
            elif roll < 0.8:
                path = rng.choice(DOCS)
                builder.page(at, path, _title(path))
            elif roll < 0.85 and propensity < 0.25:
                builder.page(at, "/careers", "Careers")
            else:
                builder.page(at, "/request-demo", "Request a demo")
        if person is not None and session == 0:
            at += timedelta(seconds=rng.randint(20, 120))
            builder.add(
                "identify",
                at,
                traits={
                    "email": person.email,
                    "name": person.name,
                    "title": person.title,
                    "company": company.name,
                },
            )
            builder.add(
                "group",
                at + timedelta(seconds=1),
                groupId=company.domain,
                traits={
                    "domain": company.domain,
                    "name": company.name,
                    "industry": company.industry,
                    "employees": company.employees,
                    "country": company.country,
                },
            )
            at += timedelta(seconds=2)
    hand_raiser = person is not None and rng.random() < propensity**1.5 * 0.6
    product_user = person is not None and rng.random() < 0.1 + 0.35 * propensity
    for _ in range(rng.randint(1, 7) if product_user else 0):
        at += timedelta(hours=rng.uniform(0.2, 40))
        builder.add("screen", at, name="Dashboard")
        builder.add("track", at + timedelta(seconds=30), event=rng.choice(PRODUCT_EVENTS))
    if hand_raiser:
        at += timedelta(minutes=rng.randint(2, 30))
        builder.page(at, "/request-demo", "Request a demo")
        builder.add(
            "track", at + timedelta(seconds=40), event="Contact Sales", properties={"form": "demo-request"}
        )
    # what would have happened after now did not happen (yet): the rest of the plan does not depend on it
    cut = _iso(now - timedelta(minutes=5))
    messages = tuple(m for m in builder.messages if m["timestamp"] <= cut)
    hand_raiser = hand_raiser and messages[-1].get("event") == "Contact Sales"
    product_user = product_user and any(m["type"] == "screen" for m in messages)
    return Visitor(
        key,
        anonymous_id,
        company,
        person,
        channel,
        campaign,
        propensity,
        hand_raiser,
        product_user,
        start,
        messages,
        _decision(rng, propensity, company),
    )


def _title(path: str) -> str:
    if path == "/":
        return "Home"
    return path.rsplit("/", 1)[-1].replace("-", " ").capitalize()


def _decision(rng: random.Random, propensity: float, company: Company) -> SalesDecision:
    """What sales makes of the lead: the likelier to buy, the likelier accepted, an opportunity and won."""
    if rng.random() > 0.35 + 0.6 * propensity:
        return SalesDecision(
            accept=False,
            reject_reason=rng.choice(("No budget", "Not the right person", "No need", "Bad timing")),
        )
    if rng.random() > 0.15 + 0.8 * propensity:
        return SalesDecision(accept=True)
    low, high = company.deal_size
    amount = int(round(rng.uniform(low, high), -2))
    if rng.random() < 0.1 + 0.8 * propensity:
        return SalesDecision(accept=True, opportunity=True, outcome="won", amount=amount)
    if rng.random() < 0.7:
        return SalesDecision(
            True, opportunity=True, outcome="lost", amount=amount, lost_reason=rng.choice(LOST_REASONS)
        )
    return SalesDecision(accept=True, opportunity=True)


def plan(
    seed: int = DEFAULT_SEED,
    visitors: int = DEFAULT_VISITORS,
    now: datetime | None = None,
    days: int = DEFAULT_DAYS,
) -> Plan:
    """The history of `visitors` visitors over the `days` before `now` (default: this minute), from about
    one company per three visitors. Deterministic in all four."""
    if visitors < 1 or days < 1:
        raise ValueError("a plan needs at least one visitor and one day")
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    rng = random.Random(seed)  # noqa: S311 - made-up demo data, not secrets
    companies = _companies(rng, max(1, visitors // 3))
    # each visitor draws from a generator of its own: one visitor's history never shifts another's
    # bigger and likelier buyers send more people: the buying committee shows on their account page
    weights = [1 + c.propensity * 3 + (c.size in ("mid-market", "enterprise")) for c in companies]
    people: set[str] = set()
    planned = [
        _visitor(
            random.Random(f"{seed}/{index}"),  # noqa: S311
            seed,
            index,
            rng.choices(companies, weights)[0],
            people,
            now,
            days,
        )
        for index in range(1, visitors + 1)
    ]
    return Plan(seed, now, days, tuple(companies), tuple(planned))

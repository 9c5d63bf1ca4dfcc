"""The demo systems' tables: billing, network, marketing and the disclosure log, as the
company's own systems have them (systems/*.yaml declares what the engine reads of them).
"""

from __future__ import annotations

import sqlalchemy as sa


def _pk(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, primary_key=True, autoincrement=False)


def _ref(name: str, target: str) -> sa.Column[int]:
    # Indexed: every link column is searched with IN (subquery) by the connector.
    return sa.Column(name, sa.Integer, sa.ForeignKey(target), nullable=False, index=True)


def _identity(*, nullable: bool = False) -> sa.Column[str]:
    return sa.Column("personal_number", sa.String(12), nullable=nullable, index=True)


def _text(name: str, length: int = 100, *, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _flag(name: str) -> sa.Column[bool]:
    # Rights flags (restriction, objection) start false and are set by the connector.
    return sa.Column(name, sa.Boolean, nullable=False, default=False, server_default=sa.false())


def _billing_tables() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "customers",
        metadata,
        _pk("customer_id"),
        _identity(),
        _text("name", nullable=False),
        _text("street"),
        _text("postal_code", 6),
        _text("city", 50),
        _text("email"),
        _text("phone", 20),
        sa.Column("protected_identity", sa.Boolean, nullable=False),
        _flag("processing_restricted"),
    )
    sa.Table(
        "contracts",
        metadata,
        _pk("contract_id"),
        _text("contract_number", 20, nullable=False),
        _text("kind", 12, nullable=False),  # 'electricity' | 'fibre'
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date),
        _text("facility_street"),
        _text("facility_postal_code", 6),
        _text("facility_city", 50),
    )
    sa.Table(
        "contract_holders",
        metadata,
        _pk("holder_id"),
        _ref("contract_id", "contracts.contract_id"),
        _ref("customer_id", "customers.customer_id"),
    )
    sa.Table(
        "invoices",
        metadata,
        _pk("invoice_id"),
        _text("invoice_number", 20, nullable=False),
        _ref("customer_id", "customers.customer_id"),
        _ref("contract_id", "contracts.contract_id"),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("invoice_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
    )
    sa.Table(
        "payments",
        metadata,
        _pk("payment_id"),
        _ref("invoice_id", "invoices.invoice_id"),
        sa.Column("paid_at", sa.Date, nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        _text("method", 20, nullable=False),
    )
    sa.Table(
        "credit_checks",
        metadata,
        _pk("credit_check_id"),
        _ref("customer_id", "customers.customer_id"),
        sa.Column("checked_at", sa.DateTime, nullable=False),
        _text("agency", nullable=False),
        sa.Column("risk_class", sa.Integer, nullable=False),
        _text("decision", 30, nullable=False),
    )
    return metadata


def _network_tables() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "network_customers",
        metadata,
        _pk("network_customer_id"),
        _identity(),
        _text("name", nullable=False),
        _text("street"),
        _text("postal_code", 6),
        _text("city", 50),
        sa.Column("customer_since", sa.Date, nullable=False),
        _flag("processing_restricted"),
    )
    sa.Table(
        "metering_points",
        metadata,
        _pk("metering_point_id"),
        _ref("network_customer_id", "network_customers.network_customer_id"),
        _text("gsrn", 18, nullable=False),
        _text("street"),
        _text("postal_code", 6),
        _text("city", 50),
        _text("grid_area", 10, nullable=False),
        sa.Column("fuse_amperes", sa.Integer, nullable=False),
        sa.Column("installed_at", sa.Date, nullable=False),
        sa.Column("supply_ended_on", sa.Date),  # the customer moved out: the contract ended
        # Who sells the electricity at the point: the datahub tells the grid company.
        _text("electricity_supplier", nullable=False),
    )
    sa.Table(
        "meter_readings",
        metadata,
        _pk("reading_id"),
        _ref("metering_point_id", "metering_points.metering_point_id"),
        sa.Column("read_at", sa.DateTime, nullable=False),  # start of the hour, UTC
        sa.Column("kwh", sa.Float, nullable=False),
    )
    sa.Table(
        "fibre_connections",
        metadata,
        _pk("connection_id"),
        _ref("network_customer_id", "network_customers.network_customer_id"),
        _text("street"),
        _text("postal_code", 6),
        _text("city", 50),
        _text("access_node", 30, nullable=False),
        sa.Column("connected_at", sa.Date, nullable=False),
        sa.Column("disconnected_on", sa.Date),
    )
    sa.Table(
        "fibre_service_subscriptions",
        metadata,
        _pk("subscription_id"),
        _ref("connection_id", "fibre_connections.connection_id"),
        _text("service_provider", nullable=False),
        _text("service", nullable=False),
        sa.Column("started_at", sa.Date, nullable=False),
        sa.Column("ended_at", sa.Date),
    )
    sa.Table(
        "outage_contacts",
        metadata,
        _pk("outage_contact_id"),
        _ref("network_customer_id", "network_customers.network_customer_id"),
        _text("channel", 10, nullable=False),  # 'sms' | 'email' | 'phone'
        _text("phone", 20),
        _text("email"),
        sa.Column("registered_at", sa.Date, nullable=False),
    )
    return metadata


def _marketing_tables() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "contacts",
        metadata,
        _pk("contact_id"),
        _identity(nullable=True),  # newsletter sign-ups by e-mail alone have none
        _text("name"),
        _text("email"),
        _text("phone", 20),
        sa.Column("created_at", sa.Date, nullable=False),
        _flag("processing_restricted"),
        _flag("marketing_objection"),
    )
    sa.Table(
        "consents",
        metadata,
        _pk("consent_id"),
        _ref("contact_id", "contacts.contact_id"),
        _text("channel", 10, nullable=False),
        _text("purpose", 200, nullable=False),
        sa.Column("given_at", sa.DateTime, nullable=False),
        sa.Column("withdrawn_at", sa.DateTime),
    )
    sa.Table(
        "campaigns",
        metadata,
        _pk("campaign_id"),
        _text("name", nullable=False),
        _text("channel", 10, nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "campaign_recipients",
        metadata,
        _pk("recipient_id"),
        _ref("campaign_id", "campaigns.campaign_id"),
        _ref("contact_id", "contacts.contact_id"),
    )
    sa.Table(
        "shared_with_providers",
        metadata,
        _pk("share_id"),
        _ref("contact_id", "contacts.contact_id"),
        _text("service_provider", nullable=False),
        sa.Column("shared_at", sa.DateTime, nullable=False),
        _text("data_categories", 200, nullable=False),
    )
    return metadata


def _disclosure_tables() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "disclosures",
        metadata,
        _pk("disclosure_id"),
        _identity(),
        _text("recipient", nullable=False),
        _text("recipient_type", 12, nullable=False),  # 'authority' | 'insurer' | 'contractor'
        sa.Column("disclosed_at", sa.Date, nullable=False),
        _text("purpose", 200, nullable=False),
        _text("legal_basis", 200, nullable=False),
        _text("data_categories", 200, nullable=False),
        _flag("processing_restricted"),
    )
    return metadata


SYSTEM_TABLES: dict[str, sa.MetaData] = {
    "billing": _billing_tables(),
    "network": _network_tables(),
    "marketing": _marketing_tables(),
    "disclosure": _disclosure_tables(),
}

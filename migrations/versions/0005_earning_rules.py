"""earning rules: per spend, per visit, per item (stamps), bonus times and items; which rules
gave each earn

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:40:00.000000

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

import loyalty.models.base


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('earning_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('per_amount', sa.Integer(), nullable=False),
    sa.Column('min_amount', sa.Integer(), nullable=False),
    sa.Column('per_day', sa.Integer(), nullable=True),
    sa.Column('plus', sa.JSON(), nullable=False),
    sa.Column('multiplier_percent', sa.Integer(), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('starts_at', sa.Integer(), nullable=True),
    sa.Column('ends_at', sa.Integer(), nullable=True),
    sa.Column('cap', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_earning_rules_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_earning_rules'))
    )
    with op.batch_alter_table('earning_rules', schema=None) as batch_op:
        batch_op.create_index('ix_earning_rules_tenant_position', ['tenant_id', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_earning_rules_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('breakdown', sa.JSON(), nullable=True))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earning_breakdown', sa.JSON(), nullable=True))

    # Each restaurant's one rule (points per whole currency unit paid) becomes a per-spend rule
    # of the same rate: N points per 10^decimal_digits minor units, whole steps only, as before.
    # A rate of 0 (earning paused) becomes no rule at all.
    connection = op.get_bind()
    tenants = connection.execute(
        sa.text("SELECT id, points_per_unit, decimal_digits FROM tenants WHERE points_per_unit > 0")
    ).all()
    if tenants:
        now = datetime.now(UTC)
        op.bulk_insert(
            _rules_table(),
            [
                {
                    'tenant_id': tenant_id,
                    'kind': 'spend',
                    'name': 'spend',
                    'position': 0,
                    'points': points,
                    'per_amount': 10 ** digits,
                    'min_amount': 0,
                    'per_day': None,
                    'plus': [],
                    'multiplier_percent': 100,
                    'weekdays': [],
                    'starts_at': None,
                    'ends_at': None,
                    'cap': None,
                    'created_at': now,
                    'updated_at': now,
                }
                for tenant_id, points, digits in tenants
            ],
        )

    # ALTER TABLE ... DROP COLUMN, never a copy of the table: on SQLite, dropping the old
    # tenants (or orders) table would cascade to every row that references it.
    with op.batch_alter_table('tenants', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('points_per_unit')


def downgrade():
    # Added in place (no copy of the table, see upgrade); it keeps its server default of 0.
    with op.batch_alter_table('tenants', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('points_per_unit', sa.Integer(), server_default='0', nullable=False))

    # Back to one rate per restaurant: its first spend rule, as points per whole currency unit
    # (floored); other kinds of rule have no equivalent and are dropped.
    connection = op.get_bind()
    rates = connection.execute(
        sa.text(
            "SELECT earning_rules.tenant_id, earning_rules.points, earning_rules.per_amount,"
            " tenants.decimal_digits FROM earning_rules JOIN tenants"
            " ON tenants.id = earning_rules.tenant_id"
            " WHERE earning_rules.kind = 'spend' AND earning_rules.per_amount > 0"
            " ORDER BY earning_rules.position DESC, earning_rules.id DESC"
        )
    ).all()
    per_tenant = {tenant_id: points * 10 ** digits // per_amount for tenant_id, points, per_amount, digits in rates}
    for tenant_id, per_unit in per_tenant.items():
        connection.execute(
            sa.text("UPDATE tenants SET points_per_unit = :per_unit WHERE id = :id"),
            {'per_unit': per_unit, 'id': tenant_id},
        )

    with op.batch_alter_table('orders', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('earning_breakdown')

    with op.batch_alter_table('ledger_entries', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('breakdown')

    with op.batch_alter_table('earning_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_earning_rules_tenant_id'))
        batch_op.drop_index('ix_earning_rules_tenant_position')

    op.drop_table('earning_rules')


def _rules_table():
    return sa.table('earning_rules',
    sa.column('tenant_id', sa.Integer()),
    sa.column('kind', sa.String()),
    sa.column('name', sa.String()),
    sa.column('position', sa.Integer()),
    sa.column('points', sa.Integer()),
    sa.column('per_amount', sa.Integer()),
    sa.column('min_amount', sa.Integer()),
    sa.column('per_day', sa.Integer()),
    sa.column('plus', sa.JSON()),
    sa.column('multiplier_percent', sa.Integer()),
    sa.column('weekdays', sa.JSON()),
    sa.column('starts_at', sa.Integer()),
    sa.column('ends_at', sa.Integer()),
    sa.column('cap', sa.Integer()),
    sa.column('created_at', loyalty.models.base.UTCDateTime(timezone=True)),
    sa.column('updated_at', loyalty.models.base.UTCDateTime(timezone=True)),
    )

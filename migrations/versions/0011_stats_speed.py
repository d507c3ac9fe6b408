"""Stats at speed: visit and first-order rollups for exact distinct counts, a calendar of local
days, and rollups built up to a moment of today

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 08:00:00.000000

Every tenant's build state is dropped: its rollups are read live until `loyalty tick` (or
`loyalty stats rebuild`) builds them again with the visits, which no earlier build wrote.

"""
from alembic import op
import sqlalchemy as sa

import loyalty.models.base


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_calendar_days',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('starts', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_stats_calendar_days_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'starts', name=op.f('pk_stats_calendar_days'))
    )
    op.create_table('stats_first_order_days',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('first_time_members', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('returned', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_stats_first_order_days_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'day', name=op.f('pk_stats_first_order_days'))
    )
    op.create_table('stats_location_visit_days',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('previous_day', sa.Date(), nullable=False),
    sa.Column('members', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_stats_location_visit_days_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'location_id', 'day', 'previous_day', name=op.f('pk_stats_location_visit_days'))
    )
    op.create_table('stats_visit_days',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('previous_day', sa.Date(), nullable=False),
    sa.Column('members', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_stats_visit_days_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'day', 'previous_day', name=op.f('pk_stats_visit_days'))
    )
    with op.batch_alter_table('stats_rollup_state', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('built_through', loyalty.models.base.UTCDateTime(timezone=True), nullable=True))
    op.execute('DELETE FROM stats_rollup_state')


def downgrade():
    op.execute('DELETE FROM stats_rollup_state')
    with op.batch_alter_table('stats_rollup_state', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('built_through')
    op.drop_table('stats_visit_days')
    op.drop_table('stats_location_visit_days')
    op.drop_table('stats_first_order_days')
    op.drop_table('stats_calendar_days')

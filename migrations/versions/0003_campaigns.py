"""campaigns: campaigns, memberships and their history, coupons

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 21:59:58.169371

"""
from alembic import op
import sqlalchemy as sa

import loyalty.models.base


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('active_from', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active_to', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dynamic', sa.Boolean(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('initialized_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('initialized_by', sa.String(length=128), nullable=True),
    sa.Column('started_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finalized_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('previewed_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('samples', sa.JSON(), nullable=False),
    sa.Column('cnt', sa.Integer(), nullable=False),
    sa.Column('max_coupons', sa.Integer(), nullable=True),
    sa.Column('max_redemptions', sa.Integer(), nullable=True),
    sa.Column('max_points', sa.Integer(), nullable=True),
    sa.Column('coupons_issued', sa.Integer(), nullable=False),
    sa.Column('coupons_redeemed', sa.Integer(), nullable=False),
    sa.Column('points_credited', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaigns_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('tenant_id', 'key', name=op.f('uq_campaigns_tenant_id_key'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('campaign_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('state_id', sa.String(length=32), nullable=True),
    sa.Column('entered_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('entry', sa.Integer(), nullable=False),
    sa.Column('progress', sa.JSON(), nullable=False),
    sa.Column('joined_year', sa.Integer(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('created_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_campaign_memberships_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_memberships_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaign_memberships_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_memberships')),
    sa.UniqueConstraint('campaign_id', 'account_id', name=op.f('uq_campaign_memberships_campaign_id_account_id'))
    )
    with op.batch_alter_table('campaign_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_memberships_account_status', ['account_id', 'status'], unique=False)
        batch_op.create_index('ix_campaign_memberships_campaign_state', ['campaign_id', 'status', 'state_id', 'entered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_memberships_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('campaign_membership_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['campaign_memberships.id'], name=op.f('fk_campaign_membership_events_membership_id_campaign_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_campaign_membership_events_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaign_membership_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_membership_events')),
    sa.UniqueConstraint('membership_id', 'seq', name=op.f('uq_campaign_membership_events_membership_id_seq'))
    )
    with op.batch_alter_table('campaign_membership_events', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_membership_events_order', ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_membership_events_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('coupons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=True),
    sa.Column('entry_seq', sa.Integer(), nullable=True),
    sa.Column('issue_key', sa.String(length=160), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('state_id', sa.String(length=32), nullable=False),
    sa.Column('coupon_type', sa.String(length=8), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=True),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('image', sa.String(length=256), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('valid_to', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lock_session', sa.String(length=128), nullable=True),
    sa.Column('lock_expires_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_order_id', sa.Integer(), nullable=True),
    sa.Column('created_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_coupons_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_coupons_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['membership_id'], ['campaign_memberships.id'], name=op.f('fk_coupons_membership_id_campaign_memberships'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_coupons_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['used_order_id'], ['orders.id'], name=op.f('fk_coupons_used_order_id_orders'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupons')),
    sa.UniqueConstraint('tenant_id', 'issue_key', name=op.f('uq_coupons_tenant_id_issue_key')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_coupons_tenant_id_code'))
    )
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.create_index('ix_coupons_account_status', ['account_id', 'status'], unique=False)
        batch_op.create_index('ix_coupons_campaign_status', ['campaign_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_coupons_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_coupons_tenant_lock_session', ['tenant_id', 'lock_session'], unique=False)
        batch_op.create_index('ix_coupons_status_valid_to', ['status', 'valid_to'], unique=False)
        batch_op.create_index('ix_coupons_status_lock_expires', ['status', 'lock_expires_at'], unique=False)



def downgrade():
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_index('ix_coupons_status_valid_to')
        batch_op.drop_index('ix_coupons_status_lock_expires')
        batch_op.drop_index('ix_coupons_tenant_lock_session')
        batch_op.drop_index(batch_op.f('ix_coupons_tenant_id'))
        batch_op.drop_index('ix_coupons_campaign_status')
        batch_op.drop_index('ix_coupons_account_status')

    op.drop_table('coupons')
    with op.batch_alter_table('campaign_membership_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_membership_events_tenant_id'))
        batch_op.drop_index('ix_campaign_membership_events_order')

    op.drop_table('campaign_membership_events')
    with op.batch_alter_table('campaign_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_memberships_tenant_id'))
        batch_op.drop_index('ix_campaign_memberships_campaign_state')
        batch_op.drop_index('ix_campaign_memberships_account_status')

    op.drop_table('campaign_memberships')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_tenant_id'))

    op.drop_table('campaigns')

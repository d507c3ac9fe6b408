"""notifications: the outbox, push devices, each restaurant's sender settings, its time zone

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:06:00.000000

"""
from alembic import op
import sqlalchemy as sa

import loyalty.models.base


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_settings',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('sender', sa.String(length=8), nullable=False),
    sa.Column('smtp_host', sa.String(length=253), nullable=True),
    sa.Column('smtp_port', sa.Integer(), nullable=True),
    sa.Column('smtp_security', sa.String(length=8), nullable=False),
    sa.Column('smtp_username', sa.String(length=254), nullable=True),
    sa.Column('smtp_password', sa.String(length=256), nullable=True),
    sa.Column('smtp_from', sa.String(length=254), nullable=True),
    sa.Column('webhook_url', sa.String(length=2048), nullable=True),
    sa.Column('webhook_secret', sa.String(length=128), nullable=True),
    sa.Column('quiet_hours_start', sa.Integer(), nullable=False),
    sa.Column('quiet_hours_end', sa.Integer(), nullable=False),
    sa.Column('daily_campaign_limit', sa.Integer(), nullable=True),
    sa.Column('updated_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notification_settings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_notification_settings'))
    )
    op.create_table('push_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=512), nullable=False),
    sa.Column('platform', sa.String(length=8), nullable=False),
    sa.Column('created_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_push_devices_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_push_devices_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_devices')),
    sa.UniqueConstraint('account_id', 'token', name=op.f('uq_push_devices_account_id_token'))
    )
    with op.batch_alter_table('push_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_devices_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('campaign_key', sa.String(length=64), nullable=True),
    sa.Column('membership_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('title', sa.String(length=256), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('sent_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('created_at', loyalty.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_outbox_messages_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['membership_id'], ['campaign_memberships.id'], name=op.f('fk_outbox_messages_membership_id_campaign_memberships'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outbox_messages_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('tenant_id', 'idempotency_key', name=op.f('uq_outbox_messages_tenant_id_idempotency_key'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_account_sent', ['account_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_outbox_messages_due', ['next_attempt_at'], unique=False, sqlite_where=sa.text("status IN ('queued', 'held')"), postgresql_where=sa.text("status IN ('queued', 'held')"))
        batch_op.create_index('ix_outbox_messages_tenant_campaign', ['tenant_id', 'campaign_key', 'status'], unique=False)
        batch_op.create_index('ix_outbox_messages_tenant_created', ['tenant_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_tenant_id'), ['tenant_id'], unique=False)

    # Existing restaurants read their days and quiet hours in UTC until an owner picks a zone.
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False))


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('time_zone')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_tenant_id'))
        batch_op.drop_index('ix_outbox_messages_tenant_created')
        batch_op.drop_index('ix_outbox_messages_tenant_campaign')
        batch_op.drop_index('ix_outbox_messages_due', sqlite_where=sa.text("status IN ('queued', 'held')"), postgresql_where=sa.text("status IN ('queued', 'held')"))
        batch_op.drop_index('ix_outbox_messages_account_sent')

    op.drop_table('outbox_messages')
    with op.batch_alter_table('push_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_devices_tenant_id'))

    op.drop_table('push_devices')
    op.drop_table('notification_settings')

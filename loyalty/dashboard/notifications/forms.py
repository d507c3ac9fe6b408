"""The notification settings form; the rules live in services.notifications.settings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import Optional

from ...models import NotificationSettings
from ...services.notifications.settings import SenderChoice

SENDER_CHOICES = [
    SelectChoice("log", "Log only: customers get nothing"),
    SelectChoice("smtp", "E-mail (SMTP)"),
    SelectChoice("webhook", "Webhook to your push service"),
]
SECURITY_CHOICES = [
    SelectChoice("starttls", "STARTTLS (port 587)"),
    SelectChoice("ssl", "SSL/TLS (port 465)"),
    SelectChoice("none", "None (own network only)"),
]
HOUR_CHOICES = [SelectChoice(hour, f"{hour:02d}:00") for hour in range(24)]


class NotificationsForm(FlaskForm):
    sender = SelectField("Send messages by", choices=SENDER_CHOICES, default="log")
    smtp_host = StringField("Mail server", description="For example smtp.example.com.")
    smtp_port = IntegerField(
        "Port",
        validators=[Optional()],
        description="Empty: the usual port for the encryption chosen.",
        invalid_value_message="enter a port number, or leave empty",
    )
    smtp_security = SelectField("Encryption", choices=SECURITY_CHOICES, default="starttls")
    smtp_username = StringField("User name", description="Empty: the server needs no login.")
    smtp_password = PasswordField("Password")
    smtp_from = EmailField("From address", description="The address customers see and reply to.")
    webhook_url = StringField(
        "Webhook URL",
        description="We POST each message as JSON to this http:// or https:// address.",
    )
    webhook_secret = PasswordField("Signing secret")
    quiet_hours_start = SelectField("Quiet from", choices=HOUR_CHOICES, coerce=int, default=21)
    quiet_hours_end = SelectField("Quiet until", choices=HOUR_CHOICES, coerce=int, default=9)
    daily_campaign_limit = IntegerField(
        "Campaign messages per customer per day",
        validators=[Optional()],
        description="The rest wait for the next day. Empty: no limit.",
        invalid_value_message="enter a whole number, or leave empty",
    )

    def choice(self) -> SenderChoice:
        return SenderChoice(
            sender=self.sender.data or "",
            smtp_host=self.smtp_host.data or "",
            smtp_port=self.smtp_port.data,
            smtp_security=self.smtp_security.data or "",
            smtp_username=self.smtp_username.data or "",
            smtp_password=self.smtp_password.data or "",
            smtp_from=self.smtp_from.data or "",
            webhook_url=self.webhook_url.data or "",
            webhook_secret=self.webhook_secret.data or "",
            quiet_hours_start=self.quiet_hours_start.data,
            quiet_hours_end=self.quiet_hours_end.data,
            daily_campaign_limit=self.daily_campaign_limit.data,
        )

    @staticmethod
    def initial_data(saved: NotificationSettings) -> dict:
        """The saved settings, secrets left out: they are never sent back to the browser."""
        return {
            "sender": saved.sender,
            "smtp_host": saved.smtp_host,
            "smtp_port": saved.smtp_port,
            "smtp_security": saved.smtp_security,
            "smtp_username": saved.smtp_username,
            "smtp_from": saved.smtp_from,
            "webhook_url": saved.webhook_url,
            "quiet_hours_start": saved.quiet_hours_start,
            "quiet_hours_end": saved.quiet_hours_end,
            "daily_campaign_limit": saved.daily_campaign_limit,
        }

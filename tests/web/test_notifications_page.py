"""The Notifications page: owners choose how messages are sent; secrets never come back."""

from __future__ import annotations

from loyalty.extensions import db
from loyalty.models import NotificationSettings, OutboxMessage, utcnow
from loyalty.services.notifications.outbox import enqueue
from loyalty.services.notifications.settings import SenderChoice, update_notification_settings
from tests.support.accounts import customer
from tests.support.forms import csrf_token, errors_for, signed_in_checking_csrf
from tests.support.postgres import free_port

PAGE = "/settings/notifications/"
PASSWORD = "mail-password-never-shown"
SECRET = "webhook-secret-never-shown-0123"


def notifications_form(**overrides) -> dict:
    """The form as a browser posts it for a new restaurant (the log sender)."""
    form = {
        "sender": "log",
        "smtp_host": "",
        "smtp_port": "",
        "smtp_security": "starttls",
        "smtp_username": "",
        "smtp_password": "",
        "smtp_from": "",
        "webhook_url": "",
        "webhook_secret": "",
        "quiet_hours_start": "21",
        "quiet_hours_end": "9",
        "daily_campaign_limit": "1",
    }
    form.update(overrides)
    return form


def smtp_form(**overrides) -> dict:
    smtp = {
        "sender": "smtp",
        "smtp_host": "smtp.example.com",
        "smtp_port": "587",
        "smtp_username": "trattoria",
        "smtp_password": PASSWORD,
        "smtp_from": "Hello@Trattoria.example",
    }
    return notifications_form(**{**smtp, **overrides})


def saved(tenant) -> NotificationSettings:
    return db.session.get(NotificationSettings, tenant.id)


def test_the_settings_page_links_to_notifications(owner_client):
    assert f'href="{PAGE}"' in owner_client.get("/settings/").get_data(as_text=True)


def test_a_new_restaurant_logs_messages_with_quiet_hours_from_nine_to_nine(owner_client):
    page = owner_client.get(PAGE).get_data(as_text=True)
    assert '<option selected value="log">' in page
    assert '<option selected value="21">21:00</option>' in page
    assert '<option selected value="9">09:00</option>' in page
    assert "No messages yet" in page


def test_owner_saves_the_smtp_sender(owner_client, tenant):
    response = owner_client.post(PAGE, data=smtp_form(daily_campaign_limit="2"))
    assert response.status_code == 303
    settings = saved(tenant)
    assert (settings.sender, settings.smtp_host, settings.smtp_port) == (
        "smtp",
        "smtp.example.com",
        587,
    )
    assert (settings.smtp_username, settings.smtp_password) == ("trattoria", PASSWORD)
    assert settings.smtp_from == "hello@trattoria.example"
    assert settings.daily_campaign_limit == 2
    assert "Notification settings saved" in owner_client.get(PAGE).get_data(as_text=True)


def test_secrets_are_not_in_the_page_after_saving(owner_client, tenant):
    owner_client.post(
        PAGE, data=smtp_form(webhook_url="https://push.example/x", webhook_secret=SECRET)
    )
    page = owner_client.get(PAGE).get_data(as_text=True)
    assert PASSWORD not in page
    assert SECRET not in page
    assert SECRET[4:] not in page
    assert "A password is saved" in page
    assert "Saved secret: webh…" in page
    assert 'value="smtp.example.com"' in page  # what is not secret comes back


def test_an_empty_secret_keeps_the_saved_one(owner_client, tenant):
    owner_client.post(PAGE, data=smtp_form())
    owner_client.post(PAGE, data=smtp_form(smtp_password="", smtp_host="mail.example.com"))
    settings = saved(tenant)
    assert (settings.smtp_host, settings.smtp_password) == ("mail.example.com", PASSWORD)


def test_without_a_user_name_the_password_is_dropped(owner_client, tenant):
    owner_client.post(PAGE, data=smtp_form())
    owner_client.post(PAGE, data=smtp_form(smtp_username="", smtp_password=""))
    assert saved(tenant).smtp_password is None


def test_owner_saves_the_webhook_sender(owner_client, tenant):
    response = owner_client.post(
        PAGE,
        data=notifications_form(
            sender="webhook", webhook_url="https://push.example/loyalty", webhook_secret=SECRET
        ),
    )
    assert response.status_code == 303
    settings = saved(tenant)
    assert (settings.sender, settings.webhook_url, settings.webhook_secret) == (
        "webhook",
        "https://push.example/loyalty",
        SECRET,
    )


def test_mistakes_are_shown_beside_their_fields_and_nothing_is_saved(owner_client, tenant):
    response = owner_client.post(
        PAGE,
        data=notifications_form(
            sender="smtp",
            smtp_host="smtp example com",
            smtp_port="70000",
            smtp_username="trattoria",
            smtp_from="not an address",
            webhook_url="ftp://push.example",
            webhook_secret="short",
            daily_campaign_limit="0",
        ),
    )
    assert response.status_code == 422
    assert errors_for(response, "smtp_host") == ["enter a host name such as smtp.example.com"]
    assert errors_for(response, "smtp_port") == [
        "must be from 1 to 65535, or empty for the usual port"
    ]
    assert errors_for(response, "smtp_password") == ["enter the password for this user name"]
    assert errors_for(response, "smtp_from") == ["enter a valid e-mail address"]
    assert errors_for(response, "webhook_url") == ["enter an http:// or https:// address"]
    assert errors_for(response, "webhook_secret") == ["use 16 to 128 characters"]
    assert errors_for(response, "daily_campaign_limit") == [
        "must be from 1 to 50, or empty for no limit"
    ]
    assert saved(tenant) is None


def test_the_chosen_sender_needs_its_settings(owner_client):
    response = owner_client.post(PAGE, data=notifications_form(sender="webhook"))
    assert errors_for(response, "webhook_url") == ["enter your push service's address"]
    assert errors_for(response, "webhook_secret") == [
        "enter the secret your push service checks signatures with"
    ]


def test_an_empty_daily_limit_means_no_limit(owner_client, tenant):
    owner_client.post(PAGE, data=notifications_form(daily_campaign_limit=""))
    assert saved(tenant).daily_campaign_limit is None


def test_staff_cannot_open_or_save_the_page(staff_client, tenant):
    assert staff_client.get(PAGE).status_code == 403
    assert staff_client.post(PAGE, data=smtp_form()).status_code == 403
    assert staff_client.post(PAGE + "test").status_code == 403
    assert saved(tenant) is None


def test_the_page_is_not_in_the_navigation_of_staff(staff_client):
    assert PAGE not in staff_client.get("/").get_data(as_text=True)


def test_the_test_message_through_the_log_says_customers_get_nothing(owner_client, tenant):
    response = owner_client.post(PAGE + "test", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "written to the application log" in page
    message = db.session.query(OutboxMessage).one()
    assert (message.kind, message.status, message.account_id) == ("test", "sent", None)


def test_a_failed_test_message_shows_why(owner_client, tenant):
    port = free_port()  # nothing listens on it
    update_notification_settings(
        tenant.id,
        SenderChoice(
            "smtp",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            smtp_from="hello@trattoria.example",
        ),
    )
    page = owner_client.post(PAGE + "test", follow_redirects=True).get_data(as_text=True)
    assert (
        "The test message to owner@trattoria.test failed: could not reach the mail server: "
        "connection refused." in page
    )
    assert "failed" in page and "a team member" in page


def test_the_latest_messages_show_status_attempts_and_link_to_the_account(owner_client, tenant):
    ann = customer(tenant, first_name="Ann", email="ann@example.com", marketing_consent=True)
    enqueue(tenant.id, ann.id, "campaign_message", "Your treat", "", None, "m1", now=utcnow())
    db.session.commit()
    page = owner_client.get(PAGE).get_data(as_text=True)
    assert f'href="/accounts/{ann.id}"' in page
    assert "Your treat" in page and "Campaign message" in page and ">queued<" in page


def test_the_form_needs_its_csrf_token(database_url, owner, tenant):
    with signed_in_checking_csrf(database_url, owner.email) as client:
        assert client.post(PAGE, data=smtp_form()).status_code == 400
        token = csrf_token(client.get(PAGE).get_data(as_text=True))
        assert client.post(PAGE, data={**smtp_form(), "csrf_token": token}).status_code == 303

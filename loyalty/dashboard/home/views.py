"""Home page."""

from flask import render_template
from flask_login import login_required

from ...models import utcnow
from ...rules.periods import local_day, preset_period
from ...services.checkout.orders import held_orders_page
from ...services.reporting.overview import glance
from ..access import current_tenant
from . import bp

# How many of the orders held for review the Home card names; the list has the rest.
HELD_SHOWN = 5
# Home's tiles: the last 30 days, as Stats' default range, so a tile and Stats agree.
HOME_RANGE = "30d"


@bp.route("/")
@login_required
def index():
    tenant = current_tenant()
    now = utcnow()
    period = preset_period(HOME_RANGE, local_day(now, tenant.time_zone), tenant.time_zone)
    return render_template(
        "home/index.html",
        glance=glance(tenant.id, period, now),
        stats_range=HOME_RANGE,
        held=held_orders_page(tenant.id, per_page=HELD_SHOWN),
        tenant=tenant,
    )

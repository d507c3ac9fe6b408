"""Home page."""
from flask import render_template
from flask_login import login_required

from ...models import utcnow
from ...services.checkout.orders import held_orders_page
from ...services.reporting.stats import headline
from ..access import current_tenant
from . import bp

# How many of the orders held for review the Home card names; the list has the rest.
HELD_SHOWN = 5


@bp.route("/")
@login_required
def index():
    tenant = current_tenant()
    return render_template(
        "home/index.html",
        figures=headline(tenant.id, utcnow()),
        held=held_orders_page(tenant.id, per_page=HELD_SHOWN),
        tenant=tenant,
    )

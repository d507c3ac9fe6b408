"""Home page."""
from flask import render_template
from flask_login import login_required

from ...models import utcnow
from ...services.stats import headline
from ..access import current_tenant
from . import bp


@bp.route("/")
@login_required
def index():
    return render_template("home/index.html", figures=headline(current_tenant().id, utcnow()))

"""`flask --app app loyalty ...`: one module per command group, each thin over a service."""
from flask.cli import AppGroup

loyalty_cli = AppGroup("loyalty", help="Loyalty setup and maintenance commands.")

from . import setup  # noqa: E402,F401
from . import tick  # noqa: E402,F401
from . import accounts  # noqa: E402,F401
from . import export  # noqa: E402,F401
from . import demo  # noqa: E402,F401
from . import rewards  # noqa: E402,F401
from . import simulate  # noqa: E402,F401
from . import campaigns  # noqa: E402,F401
from . import api_clients  # noqa: E402,F401
from . import stats  # noqa: E402,F401

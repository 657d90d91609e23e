"""HTML and PDF writers (in progress)."""
from .period import ReportError


def check_tools(pdf: bool = False) -> None:
    """Not yet available."""
    raise ReportError("HTML/PDF output is not available yet; use --format csv,xlsx")

"""``python -m monitor`` runs the telmon command."""
import sys

from .cli import main

sys.exit(main())

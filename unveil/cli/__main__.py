import sys

from unveil.cli import main

sys.exit(main())

import sys

from kernlab.cli import main

sys.exit(main())

import sys

from smsplatform.cli import main

sys.exit(main())

"""``python -m resnet_studio``: the same as the ``resnet-studio`` command."""

from .cli import main

raise SystemExit(main())

"""Entry file for `mitmdump -s "$(amber addon-path)" --set amber_store=URL`."""

from amber.capture.addon import CaptureAddon

addons = [CaptureAddon()]

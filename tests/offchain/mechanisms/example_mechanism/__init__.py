"""The example mechanism of docs/adding-a-mechanism.md, built from that checklist alone (a test fixture: it is
not in offchain.mechanisms.MECHANISMS; the tests list it beside the real ones)."""

from offchain.mechanisms.base import Mechanism, Reproduction

from .terms import ExampleTerms, example_steps
from .workers import EXAMPLE_RESULTS

MECHANISM = Mechanism(
    name="example",
    summary="the example mechanism: one value per slot",
    terms=ExampleTerms(),
    deploy_steps=example_steps,
    workers=(EXAMPLE_RESULTS,),
    reproductions=(Reproduction("example", f"{__name__}.command:reproduce_example"),),
)

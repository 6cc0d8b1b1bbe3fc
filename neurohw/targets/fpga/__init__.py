"""The FPGA target: our open LIF/STDP core (``rtl/``) and its golden model.

``quantize(net)`` compiles an :class:`neurohw.ir.Network` into an
:class:`FpgaProgram` (bus writes + input schedule + quantization report);
``run_on_model(program)`` steps the bit- and cycle-exact model through it.
"""
from .formats import CoreShape
from .model import CoreModel
from .program import FpgaProgram, ModelRun, QuantizationStat, load_model, run_on_model
from .quantize import CapacityError, UnsupportedError, quantize

__all__ = ["CoreShape", "CoreModel", "FpgaProgram", "ModelRun", "QuantizationStat",
           "load_model", "run_on_model", "CapacityError", "UnsupportedError", "quantize"]

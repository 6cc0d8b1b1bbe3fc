"""Fixed-point formats and the memory map of the neurohw FPGA core.

One source of truth for the widths that ``rtl/*.v`` hard-codes as localparams
and that ``rtl/README.md`` documents; ``model.py`` and ``quantize.py`` import
them from here.  Notation: ``sN`` is an N-bit two's-complement integer, ``uN``
an N-bit unsigned integer; "binary point F" means the stored integer is the
real value times 2**F.
"""
from __future__ import annotations

from dataclasses import dataclass

# ---- neuron state -----------------------------------------------------------------
V_WIDTH = 24            # v - v_rest: s24, LSB = V_LSB_MV mV, saturating
V_LSB_MV = 2.0 ** -14   # 61 nV; range [-512, 512) mV around v_rest
CURRENT_WIDTH = 24      # i_exc, i_inh: s24, saturating
CURRENT_SCALE_BITS = 16  # a weight w enters a current as w << (16 - weight_width): the
                         # largest weight is 2^15, and a current holds 256 of them
REFRAC_WIDTH = 8        # refractory counter: u8 steps
PROFILE_WIDTH = 3       # neuron -> parameter profile index
NUM_PROFILES = 1 << PROFILE_WIDTH

# ---- per-step multipliers -----------------------------------------------------------
DECAY_WIDTH = 16        # retention factor exp(-dt/tau): u16, binary point 16
DECAY_FRAC = 16
GAIN_WIDTH = 16         # current -> voltage propagator: u16, binary point GAIN_SHIFT
GAIN_SHIFT_WIDTH = 6    # global shift register, 0..63

# ---- STDP -------------------------------------------------------------------------
TRACE_WIDTH = 16        # pre/post traces: u16, binary point 12 (1.0 = 4096), saturating
TRACE_FRAC = 12
TRACE_JUMP = 1 << TRACE_FRAC
AMPLITUDE_WIDTH = 16    # A * w_max in weight LSBs: u16, binary point 8
AMPLITUDE_FRAC = 8
STDP_SHIFT = TRACE_FRAC + AMPLITUDE_FRAC   # dw = (amplitude * trace) >> STDP_SHIFT

# ---- control ------------------------------------------------------------------------
CONTROL_WIDTH = 1 + PROFILE_WIDTH + REFRAC_WIDTH  # {spike, profile, refractory}
BUS_DATA_WIDTH = 32
BUS_ADDR_WIDTH = 24
REGION_SHIFT = 20       # word address = {region[3:0], offset[19:0]}
MAX_NEURONS = 512       # the weight region, 2N x N words, must fit the 20-bit offset
MAX_NEURONS_SPARSE = 1024   # the sparse core: a column lists up to 2N sources (12-bit count)
MAX_SYNAPSES = 1 << 20      # the sparse core's synapse RAM and column index: 20-bit offsets

# regions (addr[23:20])
REGION_CONTROL = 0x0
REGION_PROFILE = 0x1    # offset = {profile, field[3:0]}
REGION_V = 0x2          # offset = neuron
REGION_I_EXC = 0x3
REGION_I_INH = 0x4
REGION_CONTROL_WORD = 0x5   # {spike, profile, refractory}
REGION_POST_TRACE = 0x6     # offset = neuron
REGION_PRE_TRACE = 0x7      # offset = source
REGION_DELAY = 0x8          # offset = source
REGION_WEIGHT = 0x9         # offset = {source, neuron}; data = {plastic, weight}
                            # (sparse core: offset = synapse, data = {target, plastic, weight})
REGION_ROW = 0xA            # sparse core: offset = source; data = {count, first synapse}
REGION_COLUMN = 0xB         # sparse core: offset = neuron; data = {count, first column entry}
REGION_COLUMN_INDEX = 0xC   # sparse core: offset = column entry; data = {source, synapse}
# a neuron record (WRITE/READ_NEURON_PARAMS): each field's region and its bytes in the record
NEURON_RECORD_FIELDS = ((REGION_V, 3), (REGION_I_EXC, 3), (REGION_I_INH, 3),
                        (REGION_CONTROL_WORD, 2), (REGION_POST_TRACE, 2))
# the sparse core's table words: {count[11:0], first[19:0]} and {source[11:0], synapse[19:0]}
TABLE_FIRST_BITS = 20
TABLE_COUNT_BITS = 12

# control registers (region 0 offsets; core.v decodes offset[5:0] only)
REG_SELECT_MASK = 0x3F
REG_STDP_ENABLE = 0x00
REG_N_ACTIVE = 0x01
REG_N_INPUTS = 0x02
REG_GAIN_SHIFT = 0x03
REG_A_PLUS = 0x04
REG_A_MINUS = 0x05
REG_W_MIN = 0x06
REG_W_MAX = 0x07
REG_PRE_DECAY = 0x08        # retention of the pre trace, exp(-dt/tau_plus)
REG_POST_DECAY = 0x09       # retention of the post trace, exp(-dt/tau_minus)
REG_STEP = 0x10             # steps completed (rw)
REG_STEP_CYCLES = 0x11      # cycles of the last step (ro)
REG_OVERRUNS = 0x12         # ticks that arrived while busy (ro; a write clears it)
REG_DROPPED = 0x13          # spike events lost to a full delay slot (ro; a write clears)
REG_INJECT = 0x14           # write c: input channel c spikes now (wo)
REG_N_NEURONS = 0x18        # build parameters (ro)
REG_N_INPUT_CHANNELS = 0x19
REG_WEIGHT_WIDTH = 0x1A
REG_DELAY_DEPTH = 0x1B
REG_ARCHITECTURE = 0x1C     # which core answers (ro): ARCH_PIPELINED, ARCH_COMPACT or ARCH_SPARSE
REG_SYNAPSES = 0x1D         # sparse core: synapse RAM words (ro; 0 on the dense cores)
REG_PLASTIC_SYNAPSES = 0x1E  # sparse core: column index entries (ro; 0 on the dense cores)

# core architectures: the same function, bus and arithmetic, different clocks per step
ARCH_PIPELINED = 0          # rtl/core.v: one synapse per clock through the sweep pipeline
ARCH_COMPACT = 1            # rtl/core_compact.v: sequential neuron update, single-port weight RAM
ARCH_SPARSE = 2             # rtl/core_sparse.v: synapse lists per source (rows) and per neuron
                            # (columns of plastic synapses) instead of the dense 2N x N matrix
ARCHITECTURES = (ARCH_PIPELINED, ARCH_COMPACT, ARCH_SPARSE)
ARCHITECTURE_NAMES = ("pipelined", "compact", "sparse")   # by value: the runner's `architecture` option

# profile fields (region 1, offset = profile << 4 | field)
PROFILE_FIELDS = ("v_decay", "exc_decay", "inh_decay", "exc_gain", "inh_gain",
                  "bias", "v_thresh", "v_reset", "refrac_steps")
(PROFILE_V_DECAY, PROFILE_EXC_DECAY, PROFILE_INH_DECAY, PROFILE_EXC_GAIN, PROFILE_INH_GAIN,
 PROFILE_BIAS, PROFILE_V_THRESH, PROFILE_V_RESET, PROFILE_REFRAC_STEPS) = range(len(PROFILE_FIELDS))
PROFILE_FIELD_WIDTH = {"v_decay": DECAY_WIDTH, "exc_decay": DECAY_WIDTH,
                       "inh_decay": DECAY_WIDTH, "exc_gain": GAIN_WIDTH,
                       "inh_gain": GAIN_WIDTH, "bias": V_WIDTH, "v_thresh": V_WIDTH,
                       "v_reset": V_WIDTH, "refrac_steps": REFRAC_WIDTH}
PROFILE_FIELD_SIGNED = {"bias", "v_thresh", "v_reset"}


def clog2(n: int) -> int:
    """Bits to index ``n`` items (Verilog's $clog2)."""
    return max(0, (n - 1).bit_length())


@dataclass(frozen=True)
class CoreShape:
    """The build parameters of one core (the RTL module parameters of core.v)."""
    n_neurons: int = 256
    n_inputs: int = 256
    weight_width: int = 8
    delay_depth: int = 16
    architecture: int = ARCH_PIPELINED   # which RTL core (its cycles per step); REG_ARCHITECTURE
    # the sparse core only (0 on the dense cores): synapse RAM words and column index
    # entries (the plastic synapses), powers of two; core_sparse.v's SYNAPSES, PLASTIC_SYNAPSES
    synapses: int = 0
    plastic_synapses: int = 0

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"CoreShape.architecture must be one of {ARCHITECTURES}, "
                             f"got {self.architecture}")
        for name in ("n_neurons", "n_inputs", "delay_depth"):
            value = getattr(self, name)
            if value < 2 or value & (value - 1):
                raise ValueError(f"CoreShape.{name} must be a power of two >= 2, got {value}")
        if self.sparse:
            for name in ("synapses", "plastic_synapses"):
                value = getattr(self, name)
                if value < 2 or value & (value - 1) or value > MAX_SYNAPSES:
                    raise ValueError(f"CoreShape.{name} must be a power of two, 2..{MAX_SYNAPSES} "
                                     f"(the sparse core's tables), got {value}")
            if self.n_neurons > MAX_NEURONS_SPARSE:
                raise ValueError(f"CoreShape.n_neurons must be <= {MAX_NEURONS_SPARSE} on the "
                                 f"sparse core (a column's 12-bit count), got {self.n_neurons}")
        else:
            if self.synapses or self.plastic_synapses:
                raise ValueError("CoreShape.synapses and plastic_synapses are the sparse core's "
                                 f"(architecture {ARCH_SPARSE}); the dense cores hold 2N x N")
            if self.n_neurons > MAX_NEURONS:
                raise ValueError(f"CoreShape.n_neurons must be <= {MAX_NEURONS} (the bus offset "
                                 f"is {REGION_SHIFT} bits), got {self.n_neurons}")
        if self.n_inputs > self.n_neurons:
            raise ValueError(f"CoreShape.n_inputs ({self.n_inputs}) must not exceed "
                             f"n_neurons ({self.n_neurons})")
        if not 2 <= self.weight_width <= 16:
            raise ValueError(f"CoreShape.weight_width must be 2..16, got {self.weight_width}")

    @property
    def sparse(self) -> bool:
        return self.architecture == ARCH_SPARSE

    @property
    def synapse_bits(self) -> int:
        return clog2(self.synapses)

    @property
    def column_bits(self) -> int:
        return clog2(self.plastic_synapses)

    @property
    def neuron_bits(self) -> int:
        return clog2(self.n_neurons)

    @property
    def source_bits(self) -> int:
        """Source ids: neurons 0..N-1, input channel c is N + c."""
        return clog2(self.n_neurons + self.n_inputs)

    @property
    def n_sources(self) -> int:
        return 1 << self.source_bits

    @property
    def delay_bits(self) -> int:
        return clog2(self.delay_depth)

    @property
    def current_frac(self) -> int:
        """Binary point of i_exc/i_inh in weight LSBs: a weight w adds w << current_frac."""
        return CURRENT_SCALE_BITS - self.weight_width

    @property
    def max_delay(self) -> int:
        """Largest delay field value: a spike emitted in step k arrives in step k+1+d."""
        return self.delay_depth - 1

    @property
    def weight_min(self) -> int:
        return -(1 << (self.weight_width - 1))

    @property
    def weight_max(self) -> int:
        return (1 << (self.weight_width - 1)) - 1

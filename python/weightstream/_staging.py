"""The staged path (device="cuda", or _staged=True on the CPU for tests): a few pinned host slots, allocated
by torch, that the loader fills in turn; each complete window is copied into its destination slice with
Tensor.copy_ (non_blocking to CUDA). Before a slot is reused, the CUDA event recorded after its last copy is
synchronized, so the source fills one slot while the previous one is still being copied. The C++ side
(python/src/staged.cpp) calls take / copy_bytes / copy_elements / release with the GIL held.

Conversions: F32/F16/BF16 to one another are done by a copy_ on the destination's device (the slot holds the
source dtype; its bytes go to a device scratch first); ggml blocks (dequantised) are converted on the host
into another slot first and copied as bytes. Host memory: slots * slot_bytes, which is staging_bytes unless one block does not fit; device
memory: one more slot_bytes (the scratch the float conversions read)."""

import torch

from ._dtypes import TO_TORCH

SLOTS = 3


class Stager:
    last = None  # the latest Stager made (tests read its counters)

    def __init__(self, destinations, device, slots=SLOTS):
        # Per target: (flat tensor in its own dtype, the same bytes as uint8), both on `device`.
        self.targets = [(t.reshape(-1), t.reshape(-1).view(torch.uint8) if t.dtype != torch.uint8 else t.reshape(-1))
                        for t in destinations]
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        self.slot_count = slots
        self.slots, self.events, self.busy = [], [], []
        self.next = 0
        # Counters: slot allocations and their bytes, takes, and waits on an event.
        self.allocations = self.pinned_bytes = self.takes = self.waits = self.copies = 0
        Stager.last = self

    def configure(self, slot_bytes):
        """Allocates the slots (pinned where CUDA is available) and returns their addresses."""
        pin = torch.cuda.is_available()
        # On the destination's device: the bytes of a window whose floats copy_ converts there.
        self.scratch = torch.empty(slot_bytes, dtype=torch.uint8, device=self.device)
        for _ in range(self.slot_count):
            self.slots.append(torch.empty(slot_bytes, dtype=torch.uint8, pin_memory=pin))
            if self.cuda:
                with torch.cuda.device(self.device):
                    self.events.append(torch.cuda.Event())
            else:
                self.events.append(None)
            self.busy.append(False)
            self.allocations += 1
            self.pinned_bytes += slot_bytes
        return [s.data_ptr() for s in self.slots]

    def take(self, exclude):
        """The next slot in turn that is not `exclude` nor being filled, once its last copy has finished."""
        for _ in range(self.slot_count):
            i = self.next
            self.next = (self.next + 1) % self.slot_count
            if i != exclude and not self.busy[i]:
                if self.events[i] is not None and not self.events[i].query():
                    self.waits += 1
                    self.events[i].synchronize()
                self.busy[i] = True
                self.takes += 1
                return i
        raise RuntimeError(f"weightstream: all {self.slot_count} staging slots are in use")

    def release(self, slot):
        self.busy[slot] = False

    def _sent(self, slot):
        if self.events[slot] is not None:
            self.events[slot].record(torch.cuda.current_stream(self.device))
        self.busy[slot] = False
        self.copies += 1

    def copy_bytes(self, slot, nbytes, target, first_byte):
        """Slot bytes [0, nbytes) -> target's bytes from first_byte (same dtype, or converted on the host)."""
        raw = self.targets[target][1]
        raw[first_byte:first_byte + nbytes].copy_(self.slots[slot][:nbytes], non_blocking=self.cuda)
        self._sent(slot)

    def copy_elements(self, slot, nbytes, target, first_element, source_dtype):
        """Slot bytes [0, nbytes) read as `source_dtype` -> target's elements from first_element, converted on
        the device. A host-to-device copy_ that changes the dtype would convert on the CPU into a temporary
        (ATen's copy_kernel_cuda): the bytes go to the device scratch as they are, and a device-to-device
        copy_ converts them, on the same stream (so one scratch serves every window in order)."""
        scratch = self.scratch[:nbytes]
        scratch.copy_(self.slots[slot][:nbytes], non_blocking=self.cuda)
        self._sent(slot)
        source = scratch.view(TO_TORCH[source_dtype])
        self.targets[target][0][first_element:first_element + source.numel()].copy_(source, non_blocking=self.cuda)

    def finish(self):
        """Waits for every queued copy (the slots may be freed after)."""
        for event in self.events:
            if event is not None:
                event.synchronize()

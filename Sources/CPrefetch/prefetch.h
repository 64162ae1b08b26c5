#pragma once
// A cache prefetch hint, which Swift has no spelling of: the state tables ask for the lines of keys they will look
// up a few records later, so that the misses of a batch overlap instead of stalling one after another.
static inline void kvstream_prefetch(const void *address) { __builtin_prefetch(address, 1, 3); }

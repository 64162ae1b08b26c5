/// The cache logic of the state tables when a ``StateStore`` backs them.
extension KeyedValueTable {
    /// Brings an entry into the cache from the store, if it is there and not cached.
    @usableFromInline func load(_ k: StateEntryKey<K, N>) {
        guard let backing, backing.mayContain, entries[k] == nil, !dirty.contains(k) else { return }
        do {
            guard let bytes = try backing.store.get(backing.table, key: backing.valueKey(k.key, k.namespace)) else {
                return
            }
            var r = BinaryReader(bytes)
            entries[k] = try V(from: &r)
        } catch {
            backing.onError(error)
        }
    }

    /// Writes a tenth of the cache back and drops it: every tenth entry in hash order, an effectively random
    /// choice spread over the whole table (dropping a prefix of the hash order would leave the rest densely
    /// packed, and linear probing degenerates into long scans there; measured 50% of the time in `find`).
    @usableFromInline func evict() {
        guard let backing else { return }
        let victims = everyTenth(entries.keys)
        var batch = StoreBatch()
        for k in victims where dirty.contains(k) {
            batch.put(backing.table, key: backing.valueKey(k.key, k.namespace), value: backing.encode(entries[k]!))
            dirty.remove(k)
        }
        for k in victims { entries[k] = nil }
        write(batch, backing)
    }

    /// Writes every changed entry to the store (before a checkpoint of the store).
    func writeBack() {
        guard let backing, !dirty.isEmpty else { return }
        var batch = StoreBatch()
        for k in dirty {
            let key = backing.valueKey(k.key, k.namespace)
            if let value = entries[k] { batch.put(backing.table, key: key, value: backing.encode(value)) }
            else { batch.delete(backing.table, key: key) }
        }
        dirty.removeAll()
        write(batch, backing)
    }

    private func write(_ batch: StoreBatch, _ backing: StoreBinding) {
        guard !batch.isEmpty else { return }
        backing.mayContain = true
        do { try backing.store.write(batch) } catch { backing.onError(error) }
    }

    /// An entry read back from the store: `key group | key | namespace`, value.
    func decodeStored(_ keyBytes: UnsafeRawBufferPointer, _ valueBytes: UnsafeRawBufferPointer)
        -> (StateEntryKey<K, N>, V)?
    {
        var r = BinaryReader(Array(keyBytes.dropFirst(2)))
        var v = BinaryReader(Array(valueBytes))
        guard let key = try? K(from: &r), let namespace = try? N(from: &r), let value = try? V(from: &v) else {
            return nil
        }
        return (StateEntryKey(key: key, namespace: namespace), value)
    }
}

extension WindowTable {
    @usableFromInline func load(_ key: K, hash: UInt64, _ window: TimeWindow) {
        guard let backing, spilled.contains(window), byWindow[window]?[key, hash: hash] == nil,
              removed[window]?.contains(StateMapKey(key)) != true
        else { return }
        do {
            guard let bytes = try backing.store.get(backing.table, key: backing.windowKey(window, key)) else { return }
            var r = BinaryReader(bytes)
            let value = try A(from: &r)
            keysCreating(window).update(key, hash: hash) { $0 = value }
            cached += 1
        } catch {
            backing.onError(error)
        }
    }

    /// Writes back and drops a tenth of the cached accumulators, from the windows that end last (the ones that
    /// fire last are the coldest).
    @usableFromInline func evict() {
        guard let backing else { return }
        var remaining = max(1, cached / 10)
        var batch = StoreBatch()
        for window in byWindow.keys.sorted(by: >) where remaining > 0 {
            guard let keys = byWindow[window] else { continue }
            // Every tenth key, spread over the table (see ``KeyedValueTable/evict()``). Evicted accumulators are
            // written whether or not they changed: the window is tracked as a whole.
            for key in keys.everyTenthKey(upTo: remaining) {
                keys.update(key) { value in
                    if let value {
                        batch.put(backing.table, key: backing.windowKey(window, key), value: backing.encode(value))
                    }
                    value = nil
                }
                remaining -= 1
                cached -= 1
            }
            if keys.isEmpty { byWindow[window] = nil }
            spilled.insert(window)
        }
        write(batch, backing)
    }

    /// Windows with more cached entries than this at a write-back are tracked per key from then on.
    static var keyTrackingThreshold: Int { 4_096 }

    /// Writes the accumulators changed since the last write-back (whole windows, or the changed keys of the
    /// windows tracked per key), and deletes removed ones.
    func writeBack() {
        guard let backing, !dirtyWindows.isEmpty || !removed.isEmpty || changedKeys.values.contains(where: { !$0.isEmpty })
        else { return }
        var batch = StoreBatch()
        for window in dirtyWindows {
            let cachedKeys = byWindow[window]
            cachedKeys?.forEach { key, value in
                batch.put(backing.table, key: backing.windowKey(window, key), value: backing.encode(value))
            }
            spilled.insert(window)
            if (cachedKeys?.count ?? 0) > Self.keyTrackingThreshold { changedKeys[window] = [] }
        }
        for (window, keys) in changedKeys where !keys.isEmpty && !dirtyWindows.contains(window) {
            // A changed key missing from the cache was evicted (and written then) or removed (deleted below).
            guard let cachedKeys = byWindow[window] else { continue }
            for key in keys {
                if let value = cachedKeys[key.key] {
                    batch.put(backing.table, key: backing.windowKey(window, key.key), value: backing.encode(value))
                }
            }
        }
        for (window, keys) in removed {
            for key in keys where byWindow[window]?[key.key] == nil {
                batch.delete(backing.table, key: backing.windowKey(window, key.key))
            }
        }
        for window in Array(changedKeys.keys) where changedKeys[window]?.isEmpty == false {
            changedKeys[window]!.removeAll(keepingCapacity: true)
        }
        dirtyWindows.removeAll()
        removed.removeAll()
        lastDirty = nil
        write(batch, backing)
    }

    private func write(_ batch: StoreBatch, _ backing: StoreBinding) {
        guard !batch.isEmpty else { return }
        backing.mayContain = true
        do { try backing.store.write(batch) } catch { backing.onError(error) }
    }

    /// An entry read back from the store: `window | key group | key`, accumulator.
    func decodeStored(_ window: TimeWindow, _ keyBytes: UnsafeRawBufferPointer, _ valueBytes: UnsafeRawBufferPointer)
        -> (K, A)?
    {
        let prefix = StoreBinding.windowPrefix(window).count + 2
        var r = BinaryReader(Array(keyBytes.dropFirst(prefix)))
        var v = BinaryReader(Array(valueBytes))
        guard let key = try? K(from: &r), let value = try? A(from: &v) else { return nil }
        return (key, value)
    }

    /// Windows with entries in the store, found after a restore (their prefix is the first 16 bytes of a key).
    func noteSpilledWindows() {
        guard let backing else { return }
        var seen: Set<TimeWindow> = []
        try? backing.store.scan(backing.table, prefix: []) { keyBytes, _ in
            var r = BinaryReader(Array(keyBytes.prefix(16)))
            if let window = try? TimeWindow(from: &r) { seen.insert(window) }
            return true
        }
        spilled.formUnion(seen)
    }
}

/// Every tenth element, for eviction spread over a whole hash table (see ``KeyedValueTable/evict()``).
func everyTenth<S: Sequence>(_ elements: S) -> [S.Element] {
    var picked: [S.Element] = []
    picked.reserveCapacity(elements.underestimatedCount / 10 + 1)
    for (i, element) in elements.enumerated() where i % 10 == 0 { picked.append(element) }
    return picked
}

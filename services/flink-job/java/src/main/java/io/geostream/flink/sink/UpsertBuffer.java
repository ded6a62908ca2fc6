package io.geostream.flink.sink;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rows of the next batch, one per primary key: the last change of a key wins (one INSERT ... ON CONFLICT
 * DO UPDATE cannot touch a row twice, and a later change must not be overwritten by an earlier one).
 */
final class UpsertBuffer {
    /** What a batch writes: rows to upsert and keys to delete; no key in both. */
    record Batch(List<Object[]> upserts, List<Object[]> deletes) {
        int size() {
            return upserts.size() + deletes.size();
        }
    }

    private record Change(boolean delete, Object[] values) {}

    private final int[] keyIndexes;
    private final Map<List<Object>, Change> changes = new LinkedHashMap<>();
    private long merged;

    UpsertBuffer(int[] keyIndexes) {
        this.keyIndexes = keyIndexes.clone();
    }

    /** Adds an upsert of {@code values} (one value per column); returns the number of keys buffered. */
    int upsert(Object[] values) {
        return put(new Change(false, values));
    }

    /** Adds a deletion of the key of {@code values}; returns the number of keys buffered. */
    int delete(Object[] values) {
        return put(new Change(true, values));
    }

    private int put(Change change) {
        Object[] key = new Object[keyIndexes.length];
        for (int i = 0; i < keyIndexes.length; i++) {
            key[i] = change.values[keyIndexes[i]];
        }
        if (changes.put(Arrays.asList(key), change) != null) {
            merged++;
        }
        return changes.size();
    }

    boolean isEmpty() {
        return changes.isEmpty();
    }

    int size() {
        return changes.size();
    }

    /** Changes replaced by a later one of the same key since this buffer was created. */
    long merged() {
        return merged;
    }

    /** The buffered changes, and an empty buffer. */
    Batch drain() {
        List<Object[]> upserts = new ArrayList<>(changes.size());
        List<Object[]> deletes = new ArrayList<>();
        for (Change change : changes.values()) {
            (change.delete ? deletes : upserts).add(change.values);
        }
        changes.clear();
        return new Batch(upserts, deletes);
    }
}

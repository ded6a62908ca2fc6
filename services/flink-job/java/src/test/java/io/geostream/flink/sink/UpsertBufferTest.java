package io.geostream.flink.sink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class UpsertBufferTest {
    @Test
    void oneRowPerKeyTheLastOneWinsInFirstSeenOrder() {
        UpsertBuffer buffer = new UpsertBuffer(new int[] {0, 1});
        assertEquals(1, buffer.upsert(new Object[] {"a", "t1", 1.0}));
        assertEquals(2, buffer.upsert(new Object[] {"b", "t1", 2.0}));
        assertEquals(2, buffer.upsert(new Object[] {"a", "t1", 3.0}));
        assertEquals(3, buffer.upsert(new Object[] {"a", "t2", 4.0}));
        assertEquals(1, buffer.merged());
        UpsertBuffer.Batch batch = buffer.drain();
        assertEquals(3, batch.upserts().size());
        assertArrayEquals(new Object[] {"a", "t1", 3.0}, batch.upserts().get(0));
        assertArrayEquals(new Object[] {"b", "t1", 2.0}, batch.upserts().get(1));
        assertArrayEquals(new Object[] {"a", "t2", 4.0}, batch.upserts().get(2));
        assertTrue(buffer.isEmpty());
        assertEquals(0, buffer.drain().size());
    }

    @Test
    void nullKeyPartsAreKeysToo() {
        UpsertBuffer buffer = new UpsertBuffer(new int[] {0});
        buffer.upsert(new Object[] {null, 1});
        buffer.upsert(new Object[] {null, 2});
        assertEquals(1, buffer.size());
        assertEquals(2, buffer.drain().upserts().get(0)[1]);
    }
}

package io.geostream.flink.sink;

import java.util.List;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalType;

/** The Sink V2 behind the 'geostream-points' table: stateless writers, at-least-once through flush. */
final class PointsSink implements Sink<RowData> {
    private static final long serialVersionUID = 1L;

    private final SinkSettings settings;
    private final ArrayUpsert statements;
    private final List<LogicalType> types;

    PointsSink(SinkSettings settings, ArrayUpsert statements, List<LogicalType> types) {
        this.settings = settings;
        this.statements = statements;
        this.types = List.copyOf(types);
    }

    @Override
    public SinkWriter<RowData> createWriter(WriterInitContext context) {
        return new PointsSinkWriter(
                settings,
                statements,
                types,
                new PgArrayWriter(settings, statements),
                context.getProcessingTimeService(),
                context.metricGroup());
    }
}

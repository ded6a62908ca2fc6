package io.geostream.flink.sink;

import java.util.List;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.types.RowKind;

/**
 * The planner's view of the sink. Like the JDBC connector's upsert sink it takes insert-only and upsert
 * changelogs (UPDATE_BEFORE is not needed) and declares a parallelism, so that
 * {@code table.exec.sink.keyed-shuffle} can route each primary key to one task.
 */
final class PointsTableSink implements DynamicTableSink {
    private final SinkSettings settings;
    private final ArrayUpsert statements;
    private final List<LogicalType> types;
    private final Integer parallelism;

    PointsTableSink(SinkSettings settings, ArrayUpsert statements, List<LogicalType> types, Integer parallelism) {
        this.settings = settings;
        this.statements = statements;
        this.types = types;
        this.parallelism = parallelism;
    }

    @Override
    public ChangelogMode getChangelogMode(ChangelogMode requestedMode) {
        return ChangelogMode.newBuilder()
                .addContainedKind(RowKind.INSERT)
                .addContainedKind(RowKind.UPDATE_AFTER)
                .addContainedKind(RowKind.DELETE)
                .build();
    }

    @Override
    public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
        return SinkV2Provider.of(new PointsSink(settings, statements, types), parallelism);
    }

    @Override
    public DynamicTableSink copy() {
        return new PointsTableSink(settings, statements, types, parallelism);
    }

    @Override
    public String asSummaryString() {
        return "geostream-points(" + statements.table + ")";
    }
}

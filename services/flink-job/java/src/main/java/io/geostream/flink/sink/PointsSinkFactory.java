package io.geostream.flink.sink;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.logical.LogicalType;

/**
 * {@code 'connector' = 'geostream-points'}: upserts into a PostgreSQL table, each batch as one
 * {@code INSERT ... SELECT * FROM unnest(arrays) ON CONFLICT (primary key) DO UPDATE}. The options mirror
 * the JDBC connector's; the table's PRIMARY KEY is the conflict target and is required.
 */
public final class PointsSinkFactory implements DynamicTableSinkFactory {
    public static final String IDENTIFIER = "geostream-points";

    static final ConfigOption<String> URL =
            ConfigOptions.key("url").stringType().noDefaultValue().withDescription("PostgreSQL JDBC URL");
    static final ConfigOption<String> TABLE_NAME =
            ConfigOptions.key("table-name").stringType().noDefaultValue().withDescription("table, or schema.table");
    static final ConfigOption<String> USERNAME = ConfigOptions.key("username").stringType().noDefaultValue();
    static final ConfigOption<String> PASSWORD = ConfigOptions.key("password").stringType().noDefaultValue();
    static final ConfigOption<Integer> MAX_ROWS = ConfigOptions.key("sink.buffer-flush.max-rows")
            .intType()
            .defaultValue(5000)
            .withDescription("a batch is written when it holds this many keys");
    static final ConfigOption<Duration> FLUSH_INTERVAL = ConfigOptions.key("sink.buffer-flush.interval")
            .durationType()
            .defaultValue(Duration.ofSeconds(1))
            .withDescription("... or when its first row is this old (0: only at max-rows and checkpoints)");
    static final ConfigOption<Integer> MAX_RETRIES = ConfigOptions.key("sink.max-retries")
            .intType()
            .defaultValue(3)
            .withDescription("retries of a failed batch (reconnecting when the connection broke), then the job fails");
    static final ConfigOption<Boolean> COPY_NEW_ROWS = ConfigOptions.key("sink.copy-new-rows")
            .booleanType()
            .defaultValue(true)
            .withDescription("send a batch as COPY first, and as the upsert only when one of its keys is stored");
    static final long RETRY_BACKOFF_MS = 1000;

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(URL, TABLE_NAME);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(USERNAME, PASSWORD, MAX_ROWS, FLUSH_INTERVAL, MAX_RETRIES, COPY_NEW_ROWS, FactoryUtil.SINK_PARALLELISM);
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        ReadableConfig options = helper.getOptions();
        ResolvedSchema schema = context.getCatalogTable().getResolvedSchema();

        List<String> names = new ArrayList<>();
        List<LogicalType> types = new ArrayList<>();
        List<ColumnKind> kinds = new ArrayList<>();
        for (Column column : schema.getColumns()) {
            if (!column.isPhysical()) {
                continue;
            }
            LogicalType type = column.getDataType().getLogicalType();
            names.add(column.getName());
            types.add(type);
            kinds.add(ColumnKind.of(type));
        }
        ArrayUpsert statements = new ArrayUpsert(
                options.get(TABLE_NAME), names, kinds, context.getPrimaryKeyIndexes());
        SinkSettings settings = new SinkSettings(
                options.get(URL),
                options.getOptional(USERNAME).orElse(null),
                options.getOptional(PASSWORD).orElse(null),
                options.get(MAX_ROWS),
                options.get(FLUSH_INTERVAL).toMillis(),
                options.get(MAX_RETRIES),
                RETRY_BACKOFF_MS,
                options.get(COPY_NEW_ROWS));
        return new PointsTableSink(
                settings, statements, types, options.getOptional(FactoryUtil.SINK_PARALLELISM).orElse(null));
    }
}

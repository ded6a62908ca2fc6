// One OpenSearch node for the tests and `make local`, built from the Maven Central jars that
// scripts/opensearch/pom.xml resolves (no distribution archive can be downloaded here).
//
// Usage: java -cp 'CLASSES:LIB/*' LocalNode HOME_DIR
// HOME_DIR/config/opensearch.yml (ports, paths, ...) and log4j2.properties are written by
// scripts/localservers/opensearch.py. The modules that a distribution loads from its modules/ folder
// are passed as classpath plugins instead, through Node's protected constructor. No security plugin:
// plain HTTP on loopback.
// SIGTERM closes the node cleanly (the JVM runs the shutdown hook).

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

public final class LocalNode extends Node {
    private static final List<Class<? extends Plugin>> MODULES = List.of(
        org.opensearch.transport.Netty4Plugin.class,
        org.opensearch.painless.PainlessPlugin.class,
        org.opensearch.script.mustache.MustachePlugin.class,
        org.opensearch.analysis.common.CommonAnalysisPlugin.class,
        org.opensearch.index.mapper.MapperExtrasPlugin.class,
        org.opensearch.search.aggregations.matrix.MatrixAggregationPlugin.class,
        org.opensearch.join.ParentJoinPlugin.class,
        org.opensearch.percolator.PercolatorPlugin.class,
        org.opensearch.index.reindex.ReindexPlugin.class,
        org.opensearch.index.rankeval.RankEvalPlugin.class,
        org.opensearch.ingest.common.IngestCommonPlugin.class,
        org.opensearch.geo.GeoModulePlugin.class
    );

    private LocalNode(Environment environment) {
        super(environment, MODULES, true);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: LocalNode HOME_DIR");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            Settings.builder().put("path.home", home.toString()).build(), Map.of(), home.resolve("config"),
            () -> "local");
        LogConfigurator.registerErrorListener();
        LogConfigurator.configure(environment); // HOME_DIR/config/log4j2.properties
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));

        Node node = new LocalNode(environment);
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "local-node-shutdown"));
        node.start();
        closed.await();
    }
}

package dev.finetune.operator.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class JsonSchemaCheckTest {

  static final String PERSON =
      "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\", \"type\": \"object\","
          + " \"required\": [\"name\", \"city\"], \"additionalProperties\": false,"
          + " \"properties\": {\"name\": {\"type\": \"string\"}, \"city\": {\"type\": \"string\"},"
          + " \"tags\": {\"type\": \"array\", \"prefixItems\": [{\"type\": \"integer\"}]}}}";

  @Test
  void validatesPredictions() throws Exception {
    JsonSchemaCheck check = JsonSchemaCheck.compile(PERSON);
    assertThat(check.score(JsonMetrics.parse("{\"name\": \"Ada\", \"city\": \"Paris\"}")))
        .isEqualTo(1.0);
    assertThat(check.score(JsonMetrics.parse("{\"name\": \"Ada\"}"))).isEqualTo(0.0);
    assertThat(check.score(JsonMetrics.parse("{\"name\": \"Ada\", \"city\": 3}"))).isEqualTo(0.0);
    assertThat(
            check.score(
                JsonMetrics.parse("{\"name\": \"Ada\", \"city\": \"Paris\", \"extra\": 1}")))
        .isEqualTo(0.0);
    // Draft 2020-12 prefixItems.
    assertThat(
            check.score(JsonMetrics.parse("{\"name\": \"A\", \"city\": \"P\", \"tags\": [\"x\"]}")))
        .isEqualTo(0.0);
    assertThat(check.score(JsonMetrics.parse("{\"name\": \"A\", \"city\": \"P\", \"tags\": [1]}")))
        .isEqualTo(1.0);
    // Not JSON: 0.
    assertThat(check.score(null)).isEqualTo(0.0);
  }

  @Test
  void aSchemaThatIsNotJsonOrNotASchemaIsRefused() {
    assertThatThrownBy(() -> JsonSchemaCheck.compile("type: object"))
        .isInstanceOf(JsonSchemaCheck.InvalidSchemaException.class)
        .hasMessageContaining("not one valid JSON document");
    assertThatThrownBy(() -> JsonSchemaCheck.compile("[1]"))
        .isInstanceOf(JsonSchemaCheck.InvalidSchemaException.class)
        .hasMessageContaining("object or a boolean");
    // Checked against the draft 2020-12 meta-schema, so a typo is not silently ignored.
    assertThatThrownBy(() -> JsonSchemaCheck.compile("{\"type\": \"nope\"}"))
        .isInstanceOf(JsonSchemaCheck.InvalidSchemaException.class)
        .hasMessageContaining("not a draft 2020-12 JSON Schema: $.type");
    assertThatThrownBy(() -> JsonSchemaCheck.compile("{\"minProperties\": \"two\"}"))
        .isInstanceOf(JsonSchemaCheck.InvalidSchemaException.class)
        .hasMessageContaining("$.minProperties: string found, integer expected");
    assertThatThrownBy(() -> JsonSchemaCheck.compile("{\"$ref\": \"#/$defs/missing\"}"))
        .isInstanceOf(JsonSchemaCheck.InvalidSchemaException.class)
        .hasMessageContaining("Reference /$defs/missing cannot be resolved");
  }

  @Test
  void remoteReferencesAreNotFetched() throws Exception {
    AtomicInteger connections = new AtomicInteger();
    try (ServerSocket server = new ServerSocket(0)) {
      Thread t =
          new Thread(
              () -> {
                try (Socket s = server.accept()) {
                  connections.incrementAndGet();
                } catch (Exception ignored) {
                  // closed
                }
              });
      t.setDaemon(true);
      t.start();
      String schema = "{\"$ref\": \"http://127.0.0.1:" + server.getLocalPort() + "/other.json\"}";
      assertThatThrownBy(() -> JsonSchemaCheck.compile(schema).score(JsonMetrics.parse("{}")))
          .isInstanceOf(JsonSchemaCheck.InvalidSchemaException.class);
    }
    assertThat(connections.get()).isZero();
  }
}

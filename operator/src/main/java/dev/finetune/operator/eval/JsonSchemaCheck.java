package dev.finetune.operator.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaException;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.networknt.schema.resource.AllowSchemaLoader;
import java.util.Set;

/**
 * The {@code jsonSchema} metric: whether a prediction is one JSON document that validates against a
 * JSON Schema (draft 2020-12, by networknt's json-schema-validator).
 *
 * <p>The schema comes from a tenant's ConfigMap, so it may reference nothing outside itself: a
 * {@code $ref} to a remote document is refused when the schema is compiled (the operator fetches
 * nothing on a tenant's behalf); the draft's own meta-schemas come from the library's classpath.
 * Instances are thread-safe.
 */
public final class JsonSchemaCheck {

  private static final JsonSchemaFactory FACTORY =
      JsonSchemaFactory.getInstance(
          SpecVersion.VersionFlag.V202012,
          b ->
              b.schemaLoaders(
                  loaders ->
                      loaders.add(
                          new AllowSchemaLoader(
                              iri -> iri != null && iri.toString().startsWith("classpath:")))));

  /** The draft 2020-12 meta-schema, from the library's classpath copy. */
  private static final JsonSchema META =
      FACTORY.getSchema(
          com.networknt.schema.SchemaLocation.of(com.networknt.schema.SchemaId.V202012));

  private final JsonSchema schema;

  private JsonSchemaCheck(JsonSchema schema) {
    this.schema = schema;
  }

  /** A schema that cannot be used; the message says why. */
  public static final class InvalidSchemaException extends Exception {
    private static final long serialVersionUID = 1L;

    public InvalidSchemaException(String message) {
      super(message);
    }
  }

  /**
   * Compiles {@code text} as a draft 2020-12 schema.
   *
   * @throws InvalidSchemaException when it is not JSON, not a schema, or refers outside itself
   */
  public static JsonSchemaCheck compile(String text) throws InvalidSchemaException {
    JsonNode node = JsonMetrics.parse(text);
    if (node == null) {
      throw new InvalidSchemaException("the schema is not one valid JSON document");
    }
    if (!node.isObject() && !node.isBoolean()) {
      throw new InvalidSchemaException(
          "a JSON Schema is an object or a boolean, got "
              + node.getNodeType().name().toLowerCase());
    }
    Set<ValidationMessage> problems = META.validate(node);
    if (!problems.isEmpty()) {
      throw new InvalidSchemaException(
          "not a draft 2020-12 JSON Schema: "
              + problems.stream()
                  .limit(3)
                  .map(ValidationMessage::getMessage)
                  .collect(java.util.stream.Collectors.joining("; ")));
    }
    SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().build();
    try {
      JsonSchema schema = FACTORY.getSchema(node, config);
      schema.initializeValidators(); // resolves every $ref now, so a bad one fails here
      return new JsonSchemaCheck(schema);
    } catch (JsonSchemaException | IllegalArgumentException | IllegalStateException e) {
      throw new InvalidSchemaException(
          "the schema cannot be used: " + e.getMessage().replaceFirst("^:\\s*", ""));
    } catch (RuntimeException e) {
      throw new InvalidSchemaException(
          "the schema cannot be used: " + e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  /** 1 when {@code document} (a parsed prediction, or {@code null}) validates, else 0. */
  public double score(JsonNode document) {
    if (document == null) {
      return 0.0;
    }
    Set<ValidationMessage> errors = schema.validate(document);
    return errors.isEmpty() ? 1.0 : 0.0;
  }
}

; Python definitions. See queries/README.md for the capture conventions.

; Properties: @property, @cached_property, and @x.setter/getter/deleter.
(decorated_definition
  (decorator
    [(identifier) @_decorator
     (attribute attribute: (identifier) @_decorator)])
  (#any-of? @_decorator "property" "cached_property" "setter" "getter" "deleter")
  definition: (function_definition name: (identifier) @name) @definition.property)

; Functions, methods inside classes, nested functions; async and decorated alike.
(function_definition name: (identifier) @name) @definition.function

(class_definition name: (identifier) @name) @definition.class

; Module-level assignments: UPPER_CASE names are constants by convention.
(module
  (expression_statement
    (assignment left: (identifier) @name (#match? @name "^_*[A-Z][A-Z0-9_]*$")) @definition.constant))
(module
  (expression_statement
    (assignment left: (identifier) @name) @definition.variable))

; Class attributes.
(class_definition
  body: (block
    (expression_statement
      (assignment left: (identifier) @name) @definition.field)))

; JavaScript definitions (JSX included). See queries/README.md for the conventions.

(class_declaration name: (identifier) @name) @definition.class
(class name: (identifier) @name) @definition.class

(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function

; Getters and setters are properties; other methods are methods, in classes and in
; object literals alike.
(method_definition "get" name: (_) @name) @definition.property
(method_definition "set" name: (_) @name) @definition.property
(method_definition name: (_) @name) @definition.method

; Class fields: a function value makes a method.
(field_definition
  property: (_) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.method
(field_definition property: (_) @name) @definition.field

; Object-literal members with function values.
(pair
  key: [(property_identifier) (string) (number)] @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.method

; const f = () => {}, var g = function () {}
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; a.b = function () {}, Foo.prototype.bar = function () {}, exports.x = () => {}.
; The receiver makes it a method; `exports` and `module.exports` make it top-level.
(assignment_expression
  left: (member_expression object: (_) @receiver property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function)]
  (#not-eq? @name "exports")) @definition.function

; Module-level variables; UPPER_CASE ones are constants.
(program
  (lexical_declaration
    (variable_declarator name: (identifier) @name (#match? @name "^[A-Z][A-Z0-9_]*$")) @definition.constant))
(program
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator name: (identifier) @name (#match? @name "^[A-Z][A-Z0-9_]*$")) @definition.constant)))
(program
  [(lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
   (variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)])
(program
  (export_statement
    declaration: [(lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
                  (variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)]))

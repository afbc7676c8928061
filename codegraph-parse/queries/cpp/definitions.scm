; C++ definitions. See queries/README.md for the conventions.
; Names written with their scope (`void ns::A::f()`) are split by the C++ rules, so
; out-of-line definitions qualify like in-class ones.

(namespace_definition name: (_) @name) @definition.namespace

; Types with bodies; forward declarations and elaborated type uses are not definitions.
(class_specifier name: (_) @name body: (_)) @definition.class
(struct_specifier name: (_) @name body: (_)) @definition.struct
(union_specifier name: (_) @name body: (_)) @definition.union
(enum_specifier name: (_) @name body: (_)) @definition.enum
(enumerator name: (identifier) @name) @definition.enum_member

(type_definition declarator: (type_identifier) @name) @definition.type_alias
(alias_declaration name: (type_identifier) @name) @definition.type_alias

(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro

; Function definitions, through pointer and reference declarators; in a class or with a
; class scope they become methods, and constructors when named after the class.
(function_definition
  declarator: (function_declarator declarator: (_) @name)) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator declarator: (_) @name))) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (pointer_declarator
      declarator: (function_declarator declarator: (_) @name)))) @definition.function
(function_definition
  declarator: (reference_declarator
    (function_declarator declarator: (_) @name))) @definition.function

; Conversion operators (`operator bool() const`), in class and out of line.
(function_definition declarator: (operator_cast) @name) @definition.function
(function_definition
  declarator: (qualified_identifier name: (operator_cast)) @name) @definition.function
(field_declaration_list
  (declaration declarator: (operator_cast) @name) @definition.function)

; Member function declarations inside a class body.
(field_declaration_list
  (field_declaration declarator: (function_declarator declarator: (_) @name)) @definition.function)
(field_declaration_list
  (field_declaration
    declarator: (pointer_declarator
      declarator: (function_declarator declarator: (_) @name))) @definition.function)
(field_declaration_list
  (field_declaration
    declarator: (reference_declarator
      (function_declarator declarator: (_) @name))) @definition.function)
(field_declaration_list
  (declaration declarator: (function_declarator declarator: (_) @name)) @definition.function)
(field_declaration_list
  (template_declaration
    (declaration declarator: (function_declarator declarator: (_) @name)) @definition.function))

; Data members, one per declarator.
(field_declaration_list
  (field_declaration declarator: (field_identifier) @name) @definition.field)
(field_declaration_list
  (field_declaration
    declarator: [(pointer_declarator declarator: (field_identifier) @name)
                 (array_declarator declarator: (field_identifier) @name)
                 (reference_declarator (field_identifier) @name)]) @definition.field)

; Variables at file or namespace scope.
(translation_unit
  (declaration declarator: [(identifier) @name
                            (init_declarator declarator: (identifier) @name)]) @definition.variable)
(namespace_definition
  body: (declaration_list
    (declaration declarator: [(identifier) @name
                              (init_declarator declarator: (identifier) @name)]) @definition.variable))

; Comments, for doc-comment lookup.
(comment) @comment

; Access labels govern the members after them; anonymous namespaces make everything in
; them private.
(field_declaration_list (access_specifier) @access)
(namespace_definition !name) @scope.private

; C++ references: calls, `new`, includes, using-declarations, base classes.

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (qualified_identifier) @name) @reference.call
(call_expression
  function: (field_expression argument: (_) @qualifier field: (field_identifier) @name)) @reference.call
(call_expression
  function: (field_expression
    argument: (_) @qualifier
    field: (template_method name: (field_identifier) @name))) @reference.call
(call_expression function: (template_function name: (identifier) @name)) @reference.call
(new_expression type: (_) @name) @reference.call

(preproc_include) @reference.import
(using_declaration) @reference.import
(namespace_alias_definition) @reference.import

(base_class_clause
  [(type_identifier) (qualified_identifier) (template_type)] @name @reference.inherit)

; What names hold, so that `x.f()` and `x->f()` can be resolved through x's type:
; parameters, locals and data members (by value, pointer or reference), return types,
; and `auto x = make()`.
(parameter_declaration
  type: (_) @name @reference.type
  declarator: [(identifier) @subject
               (pointer_declarator declarator: (identifier) @subject)
               (reference_declarator (identifier) @subject)])
(declaration
  type: (_) @name @reference.type
  declarator: [(identifier) @subject
               (pointer_declarator declarator: (identifier) @subject)
               (reference_declarator (identifier) @subject)
               (init_declarator declarator: (identifier) @subject)
               (init_declarator declarator: (pointer_declarator declarator: (identifier) @subject))
               (init_declarator declarator: (reference_declarator (identifier) @subject))])
(field_declaration
  type: (_) @name @reference.type
  declarator: [(field_identifier) @subject
               (pointer_declarator declarator: (field_identifier) @subject)
               (reference_declarator (field_identifier) @subject)])
(function_definition
  type: [(type_identifier) (qualified_identifier) (template_type)] @name @reference.type)
(field_declaration
  type: [(type_identifier) (qualified_identifier) (template_type)] @name @reference.type
  declarator: [(function_declarator) (pointer_declarator (function_declarator))
               (reference_declarator (function_declarator))])
(declaration
  type: (placeholder_type_specifier)
  declarator: (init_declarator
    declarator: (identifier) @subject
    value: (call_expression function: [(identifier) (qualified_identifier)] @name)
    @reference.assign))

; A range-for's variable: with `auto`, what the range holds (`for (auto& s : shapes_)`,
; the element of `shapes_`'s declared container); otherwise its written type. The
; binding spans the range expression, so a name the loop hides is still read there.
(for_range_loop
  type: (placeholder_type_specifier)
  declarator: [(identifier) @subject
               (reference_declarator (identifier) @subject)
               (pointer_declarator declarator: (identifier) @subject)]
  right: (_) @name @unwrap @reference.value)
(for_range_loop
  type: [(type_identifier) (qualified_identifier) (template_type)] @name @reference.type
  declarator: [(identifier) @subject
               (reference_declarator (identifier) @subject)
               (pointer_declarator declarator: (identifier) @subject)])

; What an alias stands for (`using Map = std::map<K, V>`, `typedef Impl Handle`), so that
; a value declared with the alias has the aliased type's members.
(alias_declaration type: (type_descriptor) @name @reference.type)
(type_definition
  type: [(type_identifier) (qualified_identifier) (template_type)] @name @reference.type)

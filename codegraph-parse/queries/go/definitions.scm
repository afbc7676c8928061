; Go definitions. See queries/README.md for the conventions.

; The package clause prefixes every qualified name in the file.
(package_clause (package_identifier) @name) @definition.package

(function_declaration name: (identifier) @name) @definition.function

; func (s *Server[T]) Serve(): the receiver type names the scope.
(method_declaration
  receiver: (parameter_list (parameter_declaration type: (_) @receiver))
  name: (field_identifier) @name) @definition.method

(type_declaration (type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct)
(type_declaration (type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface)
(type_declaration (type_spec name: (type_identifier) @name) @definition.type_alias)
(type_declaration (type_alias name: (type_identifier) @name) @definition.type_alias)

(field_declaration_list (field_declaration name: (field_identifier) @name) @definition.field)
(interface_type (method_elem name: (field_identifier) @name) @definition.method)

; Package-level constants and variables (one definition per name).
(source_file (const_declaration (const_spec name: (identifier) @name) @definition.constant))
(source_file (var_declaration (var_spec name: (identifier) @name) @definition.variable))
(source_file (var_declaration (var_spec_list (var_spec name: (identifier) @name) @definition.variable)))

; Comments, for doc-comment lookup.
(comment) @comment

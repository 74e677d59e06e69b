package expr

func registerJSONFuncs() {}

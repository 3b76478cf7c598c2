// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// What UMC's app.js does to open a module: require umc/modules/<id>, accept it only if it
// inherits umc.widgets._ModuleMixin (by declared class name), create it with title,
// moduleID and moduleFlavor, and start it. The module's name comes from its XML.
/*global require, document, window*/
require([
	"dojo/_base/array",
	"dojo/request",
	"umc/tools"
], function(array, request, tools) {
	var inheritsFrom = function(proto, className) {
		return array.some(proto.constructor._meta.bases, function(base) {
			return base.prototype.declaredClass === className;
		});
	};
	request('/dev/module.json', {handleAs: 'json', query: {lang: window.dojoConfig.locale}}).then(function(info) {
		document.title = info.name + ' - UMC module harness';
		tools.status('username', info.username);
		require(['umc/modules/' + info.id], function(Module) {
			if (!inheritsFrom(Module.prototype, 'umc.widgets._ModuleMixin')) {
				throw new Error('umc/modules/' + info.id + ' is no UMC module');
			}
			var module = new Module({
				title: info.name,
				moduleID: info.id,
				moduleFlavor: null,
				closable: false,
				description: ''
			});
			module.placeAt('module');
			module.startup();
			window.umcModule = module;
		});
	});
});

// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/_ModuleMixin" (UCS 5.x): what every module knows about itself
// (moduleID, moduleFlavor, title, ...) and its shortcuts to umc/tools and umc/dialog, with
// the module's flavor. Left out: the automatic moduleStore from idProperty.
/*global define*/
define([
	"dojo/_base/declare",
	"umc/tools",
	"umc/dialog"
], function(declare, tools, dialog) {
	return declare("umc.widgets._ModuleMixin", null, {
		idProperty: '',
		moduleFlavor: null,
		moduleID: '',
		moduleStore: null,
		title: '',
		moduleState: '',

		umcpCommand: function(commandStr, dataObj, handleErrors, flavor, longPollingOptions) {
			return tools.umcpCommand(commandStr, dataObj, handleErrors, flavor || this.moduleFlavor, longPollingOptions);
		},

		umcpProgressCommand: function(progressBar, commandStr, dataObj, handleErrors, flavor, longPollingOptions) {
			return tools.umcpProgressCommand(progressBar, commandStr, dataObj, handleErrors, flavor || this.moduleFlavor, longPollingOptions);
		},

		addNotification: function(message) {
			dialog.contextNotify(message);
		}
	});
});

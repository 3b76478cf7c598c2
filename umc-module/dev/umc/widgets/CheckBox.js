// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/CheckBox" (UCS 5.x): its value is a boolean (strings go
// through tools.isTrue); get('value') is whether it is checked.
/*global define*/
define([
	"dojo/_base/declare",
	"dijit/form/CheckBox",
	"umc/tools"
], function(declare, DijitCheckBox, tools) {
	return declare("umc.widgets.CheckBox", [DijitCheckBox], {
		value: false,

		_setValueAttr: function(value) {
			this.set('checked', tools.isTrue(value));
		},

		_getValueAttr: function() {
			return this.get('checked');
		}
	});
});
